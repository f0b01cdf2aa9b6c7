/*! Tuteur IA & data: the embeddable chat widget (Apache-2.0). Docs: docs/widget.md
 * One tag on the host page:
 *   <script src="https://BOT/widget.js?v=VERSION" defer data-lang="fr"></script>
 * Plain ES2019, no dependency, no build step. Styles live in a shadow root (constructable stylesheets: a host
 * CSP without 'unsafe-inline' is fine), answers are shown as text (never parsed as HTML), links are http(s) only.
 */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.tutorWidget) return; // one widget a page
  const data = script.dataset;
  const base = new URL(data.botUrl || "./", script.src); // the bot's root: where widget.js is, unless told
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const api = (path) => new URL(path, base).href;
  const inline = data.mode === "inline"; // the iframe embedding (/widget/frame): open, full size, no launcher
  const KEY = "tutor-widget:" + base.href;

  // Only the widget's own words: the chat's (greeting, buttons, "talk to a human"...) come from
  // /widget/config.json, which serves the chat page's texts, so there is one copy of each.
  const UI = {
    fr: {
      open: "Une question ?",
      title: "Assistant des formations",
      close: "Fermer",
      restart: "Nouvelle conversation",
      other: "English",
      question: "Votre question",
      you: "Vous :",
      bot: "L'assistant :",
      writing: "Rédaction de la réponse…",
      newTab: "(nouvel onglet)",
      conversation: "Conversation",
      refused:
        "Cet assistant n'est pas autorisé sur ce site ({origin}). Son administrateur doit ajouter cette origine " +
        "aux origines autorisées du bot (TUTOR_CORS_ORIGINS).",
      down: "L'assistant est injoignable pour le moment. Réessayez plus tard.",
      limit: "Trop de questions en peu de temps : réessayez dans une minute.",
    },
    en: {
      open: "Any questions?",
      title: "Programmes assistant",
      close: "Close",
      restart: "New conversation",
      other: "Français",
      question: "Your question",
      you: "You:",
      bot: "The assistant:",
      writing: "Writing the answer…",
      newTab: "(new tab)",
      conversation: "Conversation",
      refused:
        "This assistant is not allowed on this site ({origin}). Its administrator must add this origin to the " +
        "bot's allowed origins (TUTOR_CORS_ORIGINS).",
      down: "The assistant cannot be reached right now. Please try again later.",
      limit: "Too many questions in a short time: please try again in a minute.",
    },
  };
  const other = (l) => (l === "fr" ? "en" : "fr");
  const pick = (l) => (l === "en" ? "en" : "fr");

  // The conversation survives page navigations of the host site: session id and transcript in its storage.
  const storage = (() => {
    try {
      window.localStorage.getItem(KEY);
      return window.localStorage;
    } catch (e) {
      return null; // storage blocked (privacy settings, sandboxed frame): the conversation lives in memory
    }
  })();
  const blank = () => ({ session: null, msgs: [], open: false, lang: null });
  let state = blank();
  try {
    state = Object.assign(blank(), JSON.parse(storage && storage.getItem(KEY)) || {});
    if (!Array.isArray(state.msgs)) state.msgs = [];
  } catch (e) {
    /* an unreadable entry: start afresh */
  }
  const save = () => {
    state.msgs = state.msgs.slice(-40);
    try {
      if (storage) storage.setItem(KEY, JSON.stringify(state));
    } catch (e) {
      /* full or blocked: the page still works */
    }
  };
  let lang = pick(state.lang || data.lang);
  const U = () => UI[lang];
  let cfg = null; // {allowed, texts: {fr, en}} once loaded; false when the bot cannot be reached
  const T = () => (cfg && cfg.texts[lang]) || {};

  // Colours: the accent is the site's; the text on it is black or white, whichever contrasts more (at least
  // 4.58:1 for any colour), and the accent's shade used as text on white is darkened until it reaches 5.2:1.
  const hex = (c) => {
    if (!/^#([0-9a-f]{3}){1,2}$/i.test(c || "")) return null;
    return (c.length === 4 ? "#" + [...c.slice(1)].map((x) => x + x).join("") : c).toLowerCase();
  };
  const rgb = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  const lum = (c) =>
    rgb(c)
      .map((v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
      .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const contrast = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const accent = hex(data.color) || "#1d4ed8";
  const onAccent = contrast(accent, "#ffffff") >= contrast(accent, "#000000") ? "#ffffff" : "#000000";
  let ink = accent;
  while (contrast(ink, "#ffffff") < 5.2) ink = "#" + rgb(ink).map((v) => Math.floor(v * 0.85).toString(16).padStart(2, "0")).join("");

  const CSS = `
:host{all:initial}
.w{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1f2328;--accent:${accent};--on:${onAccent};--ink:${ink}}
*{box-sizing:border-box}
.vh{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
button,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer}
:focus-visible{outline:3px solid var(--ink);outline-offset:2px}
.launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;display:flex;gap:8px;align-items:center;min-height:48px;padding:10px 18px;border:2px solid #fff;border-radius:999px;background:var(--accent);color:var(--on);font-weight:600;box-shadow:0 4px 14px rgba(0,0,0,.3)}
.panel{position:fixed;bottom:84px;right:20px;z-index:2147483000;display:flex;flex-direction:column;width:min(400px,calc(100vw - 40px));height:min(620px,calc(100vh - 104px));background:#fff;border:1px solid #8c959f;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden;animation:rise .18s ease-out}
.left .launcher,.left .panel{right:auto;left:20px}
.panel[hidden]{display:none}
.panel.short{height:auto}
@keyframes rise{from{opacity:0;transform:translateY(8px)}}
.head{display:flex;flex-wrap:wrap;align-items:center;gap:6px;padding:8px 10px;border-bottom:3px solid var(--accent)}
h1,h2{flex:1 1 8em;margin:0;font-size:1.05em;line-height:1.3}
.tool{min-height:36px;min-width:36px;padding:4px 10px;border:1px solid #6e7781;border-radius:8px;background:#fff;font-size:.87em}
.tool:hover{background:#f3f4f6}
.msgs{flex:1;overflow-y:auto;padding:12px;overscroll-behavior:contain}
.msgs:focus-visible{outline-offset:-3px}
ol,ul{margin:0;padding:0}
.msgs>ol{list-style:none}
.m{margin:0 0 12px;max-width:92%;padding:8px 12px;border-radius:12px;overflow-wrap:anywhere}
.user{margin-left:auto;width:fit-content;background:var(--accent);color:var(--on);white-space:pre-wrap}
.bot{background:#f3f4f6}
.err{background:#fff1f0;border:1px solid #b42318}
.body p{margin:0 0 .5em}.body p:last-child{margin:0}.body ul{margin:.3em 0;padding-left:1.3em}
.plain{white-space:pre-wrap}
.writing::after{content:" …";animation:blink 1s steps(2) infinite}
@keyframes blink{50%{opacity:0}}
a{color:var(--ink);text-underline-offset:2px}
.src-h{margin:10px 0 0;font-weight:600;font-size:.9em}
.src{list-style:none;font-size:.9em}
.src li{margin-top:6px;padding:6px 8px;background:#fff;border:1px solid #d0d7de;border-radius:8px}
.src p{margin:2px 0 0}
.sid{display:block;color:#57606a;font-size:.85em}
.fb{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:10px;font-size:.9em}
.fb [aria-pressed=true]{background:var(--ink);border-color:var(--ink);color:#fff}
.form{display:flex;gap:8px;padding:10px 10px 6px;border-top:1px solid #d0d7de}
textarea{flex:1;min-width:0;min-height:44px;max-height:30vh;resize:vertical;padding:8px;border:1px solid #6e7781;border-radius:8px;background:#fff;font-size:16px}
textarea::placeholder{color:#57606a}
.send{padding:8px 14px;border:2px solid transparent;border-radius:8px;background:var(--accent);color:var(--on);font-weight:600}
.send:disabled{opacity:.55;cursor:default}
.foot{display:flex;flex-wrap:wrap;justify-content:space-between;gap:4px 16px;padding:0 10px 8px}
.link{min-height:32px;padding:2px 0;border:0;background:none;color:var(--ink);text-decoration:underline;text-underline-offset:2px;font-size:.87em}
.notice{margin:12px;padding:10px 12px;border:2px solid #b42318;border-radius:8px;background:#fff1f0}
@media (max-width:480px),(max-height:500px){.w .panel{inset:0;width:auto;height:auto;border:0;border-radius:0}.open .launcher{display:none}}
.inline .panel{inset:0;width:auto;height:auto;border:0;border-radius:0;box-shadow:none;animation:none}
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}
@media (forced-colors:active){.launcher,.send,.user,.fb [aria-pressed=true]{border:2px solid CanvasText}}
`;

  // Elements are built node by node: text only ever becomes text nodes.
  const el = (tag, attrs, ...kids) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
    return node;
  };
  let uid = 0;
  const id = (name) => `tw-${name}-${++uid}`;
  const safeUrl = (href) => {
    try {
      const url = new URL(href, base);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  };
  const link = (href, ...text) => {
    const url = safeUrl(href);
    if (!url) return el("span", {}, ...text);
    return el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, ...text, el("span", { class: "vh" }, " " + U().newTab));
  };
  // The answers' few marks: paragraphs, "- " lists, **bold**, and bare http(s) addresses made links.
  const INLINE = /\*\*(.+?)\*\*|(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)\]])/g;
  const inlineText = (text, into) => {
    let at = 0;
    for (const match of text.matchAll(INLINE)) {
      into.append(text.slice(at, match.index));
      into.append(match[1] ? el("strong", {}, match[1]) : link(match[2], match[2]));
      at = match.index + match[0].length;
    }
    into.append(text.slice(at));
  };
  const rich = (text) => {
    const box = el("div", { class: "body" });
    let list = null;
    let para = null;
    for (const raw of String(text).split("\n")) {
      const line = raw.trim();
      const item = /^[-*•] +(.*)/.exec(line);
      if (!line) {
        list = para = null;
      } else if (item) {
        if (!list) box.append((list = el("ul")));
        para = null;
        const li = el("li");
        inlineText(item[1], li);
        list.append(li);
      } else {
        list = null;
        if (para) para.append(el("br"));
        else box.append((para = el("p")));
        inlineText(line, para);
      }
    }
    return box;
  };
  const plain = (text) => String(text).replace(/\*\*/g, "");

  // The page's parts, rebuilt whole when the language changes or a new conversation starts.
  const host = document.createElement("tutor-widget");
  const root = host.attachShadow({ mode: "open" }); // open: audits (axe) and tests can look inside
  if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.append(el("style", {}, CSS)); // older browsers; a host CSP may then need style-src 'unsafe-inline'
  }
  let ui = {};
  let busy = false;

  const announce = (text) => {
    // A polite live region gets the whole answer once, when it is complete: not every token.
    ui.live.textContent = "";
    setTimeout(() => {
      ui.live.textContent = text;
    }, 60);
  };
  const scroll = () => {
    if (ui.msgs) ui.msgs.scrollTop = ui.msgs.scrollHeight;
  };

  function sources(cites) {
    if (!cites || !cites.length) return el("p", { class: "src-h" }, T().no_sources);
    const head = id("src");
    const list = el("ol", { class: "src", "aria-labelledby": head });
    for (const c of cites) {
      const title = `[${c.n}] ${c.title || c.source_id}`;
      const snippet = String(c.snippet || "");
      list.append(
        el(
          "li",
          {},
          c.url ? link(c.url, title) : el("strong", {}, title),
          el("span", { class: "sid" }, c.source_id),
          snippet ? el("p", {}, snippet.length > 220 ? snippet.slice(0, 217) + "…" : snippet) : null
        )
      );
    }
    return el("div", {}, el("p", { class: "src-h", id: head }, T().sources), list);
  }

  function feedback(msg) {
    const label = id("fb");
    const thanks = el("span", { role: "status" }, msg.rating ? T().thanks : "");
    const box = el("div", { class: "fb", role: "group", "aria-labelledby": label }, el("span", { id: label }, T().feedback));
    const buttons = ["up", "down"].map((rating) =>
      el("button", { type: "button", class: "tool", "aria-pressed": String(msg.rating === rating), onclick: () => rate(rating) }, T()[rating])
    );
    async function rate(rating) {
      try {
        const response = await fetch(api("api/feedback"), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ session_id: msg.session, message_id: msg.id, rating }),
        });
        if (!response.ok) throw response;
        msg.rating = rating;
        save();
        buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(["up", "down"][i] === rating)));
        thanks.textContent = T().thanks;
      } catch (e) {
        thanks.textContent = T().error;
      }
    }
    box.append(...buttons, thanks);
    return box;
  }

  function message(msg) {
    const who = el("span", { class: "vh" }, (msg.role === "user" ? U().you : U().bot) + " ");
    if (msg.role === "user") return el("li", { class: "m user" }, who, msg.text);
    const li = el("li", { class: "m " + (msg.role === "err" ? "bot err" : "bot") }, who, rich(msg.text));
    if (msg.role === "bot") li.append(sources(msg.cites), feedback(msg));
    return li;
  }

  // Server-sent events read from a fetch() body (EventSource cannot POST): lines, blank line ends an event.
  async function readEvents(body, on) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let event = "message";
    let lines = [];
    const line = (text) => {
      if (text === "") {
        if (lines.length) on(event, lines.join("\n"));
        event = "message";
        lines = [];
      } else if (text[0] !== ":") {
        const colon = text.indexOf(":");
        const field = colon < 0 ? text : text.slice(0, colon);
        const value = colon < 0 ? "" : text.slice(colon + (text[colon + 1] === " " ? 2 : 1));
        if (field === "event") event = value;
        else if (field === "data") lines.push(value);
      }
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const parts = buffer.split(/\r\n|\r(?!$)|\n/); // a lone \r at the end may be half of a \r\n
      buffer = parts.pop();
      parts.forEach(line);
    }
    if (buffer) line(buffer);
    line("");
  }

  async function ask(text) {
    busy = true;
    ui.send.disabled = true;
    const convo = state; // "new conversation" meanwhile: this answer belongs to the old one
    const question = { role: "user", text };
    state.msgs.push(question);
    save();
    ui.list.append(message(question));
    const body = el("div", { class: "body writing" }, U().writing);
    const pending = el("li", { class: "m bot", "aria-busy": "true" }, el("span", { class: "vh" }, U().bot + " "), body);
    ui.list.append(pending);
    scroll();
    const answer = { role: "bot", text: "", cites: [], session: null, id: null, rating: null };
    let finished = false;
    let written = false;
    try {
      const payload = { message: text, lang, session_id: state.session || undefined, programme: data.programme || undefined };
      const response = await fetch(api("api/chat/stream"), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(payload),
      });
      if (!response.ok || !response.body) throw response;
      await readEvents(response.body, (event, raw) => {
        const value = JSON.parse(raw);
        if (event === "token") {
          if (!written) {
            written = true;
            body.className = "body plain";
            body.textContent = "";
          }
          body.textContent += value.text;
          scroll();
        } else if (event === "citations") {
          answer.cites = value;
        } else if (event === "done") {
          Object.assign(answer, { text: value.answer, session: value.session_id, id: value.message_id });
          convo.session = value.session_id;
          finished = true;
        }
      });
      if (!finished) throw new Error("the answer stopped before its end");
      if (convo !== state) return;
      state.msgs.push(answer);
      save();
      show(pending, answer);
      announce(plain(answer.text));
    } catch (e) {
      const status = e instanceof Response ? e.status : 0;
      const why = status === 429 ? U().limit : status === 503 ? T().busy : status ? T().error : U().down;
      show(pending, { role: "err", text: why });
      announce(why);
    } finally {
      busy = false;
      if (ui.send) ui.send.disabled = false;
    }
  }
  const show = (pending, msg) => {
    if (pending.isConnected) pending.replaceWith(message(msg));
    else if (msg.role !== "err") render(); // the language changed meanwhile: draw the transcript again
    scroll();
  };

  function render() {
    const U_ = U();
    const title = id("title");
    const wrap = el(inline ? "main" : "aside", {
      class: "w" + (data.position === "left" ? " left" : "") + (inline ? " inline" : "") + (state.open || inline ? " open" : ""),
      lang,
      "aria-label": inline ? null : U_.title,
    });
    const head = el("div", { class: "head" }, el(inline ? "h1" : "h2", { id: title }, U_.title));
    const panel = el("div", { class: "panel", id: "tw-panel", role: inline ? null : "dialog", "aria-labelledby": title, hidden: !(state.open || inline) });
    ui = { wrap, panel, live: el("div", { class: "vh", role: "status", "aria-live": "polite" }) };
    if (!inline) {
      ui.launcher = el(
        "button",
        { type: "button", class: "launcher", "aria-expanded": String(!!state.open), "aria-controls": "tw-panel", onclick: () => (state.open ? close() : open(true)) },
        el("span", { "aria-hidden": "true" }, "💬"),
        U_.open
      );
      wrap.append(ui.launcher);
    }
    ui.lang = el("button", { type: "button", class: "tool", lang: other(lang), onclick: switchLang }, U_.other);
    head.append(ui.lang);
    panel.append(head);
    wrap.append(panel, ui.live);
    wrap.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !inline && state.open) {
        e.stopPropagation();
        close();
      }
    });
    if (cfg === null) {
      panel.append(el("p", { class: "notice", role: "status" }, "…"));
    } else if (!cfg || !cfg.allowed) {
      const why = cfg ? U_.refused.replace("{origin}", location.origin) : U_.down;
      panel.classList.add("short");
      panel.append((ui.notice = el("p", { class: "notice", tabindex: "-1" }, why)));
    } else {
      ui.msgs = el("div", { class: "msgs", role: "region", "aria-label": U_.conversation, tabindex: "0" });
      ui.list = el("ol");
      ui.list.append(message({ role: "greeting", text: data.greeting || T().welcome }));
      for (const msg of state.msgs) ui.list.append(message(msg));
      ui.msgs.append(ui.list);
      const field = id("q");
      ui.input = el("textarea", { id: field, rows: "2", placeholder: T().placeholder, maxlength: "4000" });
      ui.input.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          submit();
        }
      });
      ui.send = el("button", { type: "submit", class: "send", disabled: busy }, T().send);
      const form = el("form", { class: "form", onsubmit: (e) => (e.preventDefault(), submit()) }, el("label", { class: "vh", for: field }, U_.question), ui.input, ui.send);
      const human = el("button", { type: "button", class: "link", onclick: talkToHuman }, T().human);
      const again = el("button", { type: "button", class: "link", onclick: restart }, U_.restart);
      panel.append(ui.msgs, form, el("div", { class: "foot" }, human, again));
    }
    if (!inline) head.append(el("button", { type: "button", class: "tool", "aria-label": U_.close, onclick: close }, el("span", { "aria-hidden": "true" }, "✕")));
    host.setAttribute("lang", lang);
    root.replaceChildren(wrap);
    scroll();
  }

  function submit() {
    const text = ui.input.value.trim();
    if (!text || busy) return;
    ui.input.value = "";
    ask(text);
  }
  function talkToHuman() {
    const note = { role: "note", text: T().human_text };
    state.msgs.push(note);
    save();
    ui.list.append(message(note));
    scroll();
    announce(plain(note.text));
  }
  function open(focus) {
    state.open = true;
    save();
    ui.panel.hidden = false;
    ui.wrap.classList.add("open");
    if (ui.launcher) ui.launcher.setAttribute("aria-expanded", "true");
    scroll();
    if (focus) (ui.input || ui.notice || ui.lang).focus();
  }
  function close() {
    state.open = false;
    save();
    ui.panel.hidden = true;
    ui.wrap.classList.remove("open");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.focus();
  }
  function switchLang() {
    lang = other(lang);
    state.lang = lang;
    save();
    render();
    ui.lang.focus();
  }
  function restart() {
    state = Object.assign(blank(), { lang: state.lang, open: state.open });
    save();
    render();
    if (ui.input) ui.input.focus();
  }

  // The bot says whether this site may use it (its allowed origins, TUTOR_CORS_ORIGINS), with its texts: a
  // refused site shows why instead of sending questions that the browser would block.
  const loaded = fetch(api("widget/config.json"), { credentials: "omit" })
    .then((response) => (response.ok ? response.json() : false))
    .catch(() => false);
  const start = () => {
    document.body.append(host);
    render();
    loaded.then((config) => {
      cfg = config && config.texts ? config : false;
      const active = root.activeElement;
      const onLauncher = active && active === ui.launcher;
      render(); // focus stays where it was: on the launcher, or in the panel opened meanwhile
      if (onLauncher) ui.launcher.focus();
      else if (active) (ui.input || ui.notice || ui.lang).focus();
    });
  };
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
  window.tutorWidget = { open: () => open(true), close: () => state.open && close() };
})();
