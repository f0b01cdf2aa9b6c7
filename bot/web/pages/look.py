"""What every Gradio page shares: the theme, the header, and the accessibility fixes Gradio's own components need.

The pages are audited by axe-core in a real browser (tests/test_accessibility.py) against WCAG 2.1 AA, which the
RGAA builds on. Gradio's default theme fails it in three places we fix with Gradio's own means: its orange
primary buttons and its grey help texts are below 4.5:1 (the theme below), and a few of its components render
without an accessible name or keyboard access (the script in ``HEAD``). The same script keeps ``<html lang>``
on the language shown, which Gradio hard-codes to ``en``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import gradio as gr

# La Poste's blue (8.6:1 against white) for what is primary; its yellow only as an accent, never behind text.
BLUE = "#003da5"
BLUE_DARK = "#002b75"
YELLOW = "#ffc800"
SUBDUED = "#4b5563"  # grey text at 7.6:1 on white, instead of Gradio's 1.9:1

# The system's own fonts: Gradio's default asks Google Fonts for its web font, which an offline or strict-CSP
# server cannot reach, and the fallback mixed two fonts inside a word ("Tuteur I" bold, then a thin "A").
SYSTEM_FONTS = ["system-ui", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Consolas", "monospace"]

THEME = gr.themes.Default(primary_hue="blue", font=SYSTEM_FONTS, font_mono=MONO_FONTS).set(
    button_primary_background_fill=BLUE,
    button_primary_background_fill_hover=BLUE_DARK,
    button_primary_text_color="white",
    body_text_color_subdued=SUBDUED,
    block_info_text_color=SUBDUED,
    input_placeholder_color=SUBDUED,
)

CSS = f"""
.site-header {{background: {BLUE}; color: #fff; border-bottom: 4px solid {YELLOW}; border-radius: 8px;
  padding: 14px 20px;}}
.site-header h1 {{color: #fff; margin: 0; font-size: 1.6em;}}
.site-header p {{color: #fff; margin: 4px 0 0 0;}}
.site-header .programmes {{font-size: 0.95em;}}
footer a, footer button, .show-api, .built-with, .settings, .run-history {{color: {SUBDUED} !important;}}
:focus-visible {{outline: 3px solid {BLUE} !important; outline-offset: 2px;}}
.sr-only {{position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0;}}
@media (prefers-reduced-motion: reduce) {{
  *, *::before, *::after {{animation-duration: 0.01ms !important; animation-iteration-count: 1 !important;
    transition-duration: 0.01ms !important; scroll-behavior: auto !important;}}
}}
"""

# Run once per page load (the CSP allows the pages' inline scripts, as Gradio needs them anyway).
# - ``tutorSetLang`` keeps ``<html lang>`` on the language shown; pages call it from their FR/EN switch.
# - ``tutorAnnounce`` says a finished answer once in a polite live region: Gradio marks each chat message as a
#   live region of its own, which would read the answer again at every streamed token; those are turned off.
# - A table's scrolling viewport gets a focusable cell, so that it scrolls without a mouse; an icon button
#   without a name gets its title; a chart's marks are hidden from screen readers (the text beside each chart
#   says the same figures).
HEAD = """
<script>
(() => {
  document.documentElement.lang = "fr";
  window.tutorSetLang = (lang) => { document.documentElement.lang = lang === "en" ? "en" : "fr"; return lang; };
  const announcer = () => {
    let region = document.getElementById("tutor-announcer");
    if (!region) {
      region = document.createElement("div");
      region.id = "tutor-announcer";
      region.className = "sr-only";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    return region;
  };
  window.tutorAnnounce = () => {
    const answers = document.querySelectorAll("#chat .message-row.bot-row, #chat .bot-row");
    const last = answers[answers.length - 1];
    if (last) announcer().textContent = last.innerText.trim();
  };
  const mend = () => {
    announcer();
    document.querySelectorAll("#chat [aria-live]").forEach((el) => el.setAttribute("aria-live", "off"));
    // The viewport sits inside the table's grid, where only cells may take focus: its first header cell does,
    // and the arrow keys then scroll the viewport.
    document.querySelectorAll(".virtual-table-viewport th[role=columnheader]:first-child:not([tabindex='0'])")
      .forEach((el) => el.setAttribute("tabindex", "0"));
    document.querySelectorAll("button[aria-label='']").forEach((el) => {
      if (el.title) el.setAttribute("aria-label", el.title); else el.removeAttribute("aria-label");
    });
    document.querySelectorAll(".vega-embed svg:not([aria-hidden])").forEach((el) => {
      el.setAttribute("aria-hidden", "true");
    });
  };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; mend(); });
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
</script>
"""

# Gradio event ``js``: runs in the browser before the event's Python function, with its inputs, which it passes on.
# (One input is passed on as itself, several as their list: what Gradio expects back.)
SET_LANG_JS = "(...args) => { window.tutorSetLang(args[0]); return args.length === 1 ? args[0] : args; }"
ANNOUNCE_JS = "(...args) => { window.tutorAnnounce(); return args.length === 1 ? args[0] : args; }"


def header_html(texts: Mapping[str, str]) -> str:
    """The page's banner from its ``title``, ``purpose`` and ``programmes`` texts: the bot's name as the page's
    one ``h1``, what the page is for, and whom the bot serves."""
    return (
        f"<header class='site-header'><h1>{html.escape(texts['title'])}</h1>"
        f"<p>{html.escape(texts['purpose'])}</p><p class='programmes'>{html.escape(texts['programmes'])}</p></header>"
    )
