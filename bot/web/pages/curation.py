"""The staff page's curation tabs: the gap inbox, the entries editor and the audit log, over the operations
the admin API calls too (``runtime.curation``).

Every handler takes the sign-in fields first and checks them before anything else, so that the page's
functions, which Gradio also serves as an API, give nothing to a wrong name or token; the name signed in is
the actor the audit log records. What staff type is validated by ``EntryDraft`` and the core's refusals
(a duplicate id, a colleague's edit in between) come back as messages on the page, never as a crash.

Tables take their headers from the language shown: the FR/EN switch re-sends each table's rows under the
other language's headers (its cells follow at the next refresh).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from pydantic import ValidationError

from bot.language import detect_language
from bot.runtime import NotReadyError, Runtime
from bot.store.curation import (
    DuplicateEntryError,
    EntryContent,
    RevisionConflictError,
    UnknownEntryError,
)
from bot.web.exports import audit_csv
from bot.web.pages.curation_cells import (
    FIELDS,
    answer_cell,
    answers_markdown,
    change_summary,
    draft_of,
    fields_of,
    gap_row,
    seconds,
    suggested_id,
    table,
    validation_message,
    when,
)
from bot.web.pages.curation_texts import ACTIONS, TEXTS, headers_for, texts_for


@contextmanager
def shown_errors(language: str | None) -> Iterator[dict[str, str]]:
    """The core's refusals and what the draft fails, as the page's error messages."""
    texts = texts_for(language)
    try:
        yield texts
    except ValidationError as exc:
        raise gr.Error(validation_message(exc, texts)) from None
    except RevisionConflictError as exc:
        raise gr.Error(f"{texts['changed_meanwhile']}{texts['colon']}{exc}") from None
    except (UnknownEntryError, DuplicateEntryError, ValueError, NotReadyError) as exc:
        raise gr.Error(str(exc)) from None


def offer_file(export: Any, file: gr.File) -> None:
    """Show ``file`` once ``export`` has filled it. It starts hidden: Gradio's empty file box is a ``div`` with
    an ``aria-label`` and no role, which axe reports (aria-prohibited-attr, serious)."""
    export.success(lambda: gr.update(visible=True), None, file, api_visibility="private")


@dataclass(frozen=True)
class SignIn:
    """The page's sign-in fields and language switch, and the check every handler starts with: it returns
    the account's name (the actor) or raises ``gr.Error``."""

    name: gr.Textbox
    token: gr.Textbox
    lang: gr.Radio
    check: Callable[[str | None, str | None], str]

    @property
    def inputs(self) -> list[gr.components.Component]:
        return [self.name, self.token, self.lang]


class CurationTabs:
    """The three tabs, built inside the page's ``gr.Tabs``; ``load`` fills them once staff sign in."""

    def __init__(self, runtime: Runtime, sign_in: SignIn, tabs: gr.Tabs, exports: Path) -> None:
        self.runtime, self.sign_in, self.tabs, self.exports = runtime, sign_in, tabs, exports
        texts = TEXTS["fr"]
        self.labelled: dict[Any, str] = {}  # component -> its label's key
        self.valued: dict[Any, str] = {}  # component -> its text's key (buttons, headings)
        with gr.Tab(texts["gaps_tab"], id="gaps", elem_id="tab-gaps") as gaps_tab:
            self._gaps_tab(texts)
        with gr.Tab(texts["entries_tab"], id="entries", elem_id="tab-entries") as entries_tab:
            self._entries_tab(texts)
        with gr.Tab(texts["audit_tab"], id="audit", elem_id="tab-audit") as audit_tab:
            self._audit_tab(texts)
        self.labelled |= {gaps_tab: "gaps_tab", entries_tab: "entries_tab", audit_tab: "audit_tab"}
        self.listed = [self.gaps_table, self.groups, self.group, self.questions]  # what ``load`` fills
        self.listed += [self.entries_table, self.choose, self.audit_table]
        self._listen()

    # -- layout

    def _label(self, component: Any, key: str) -> Any:
        self.labelled[component] = key
        return component

    def _text(self, component: Any, key: str) -> Any:
        self.valued[component] = key
        return component

    def _table(self, name: str, label: str, elem_id: str, widths: list[str | int] | None = None) -> gr.Dataframe:
        """A read-only table whose headers ``HEADERS[...][name]`` follow the language."""
        shown = gr.Dataframe(
            headers=headers_for("fr", name),
            label=TEXTS["fr"][label],
            interactive=False,
            wrap=True,
            type="array",
            column_widths=widths,
            elem_id=elem_id,
        )
        return self._label(shown, label)

    def _gaps_tab(self, texts: dict[str, str]) -> None:
        self._text(gr.Markdown(texts["gaps_title"]), "gaps_title")
        self._text(gr.Markdown(texts["gaps_help"]), "gaps_help")
        self.gaps_refresh = self._text(gr.Button(texts["gaps_refresh"], elem_id="gaps-refresh"), "gaps_refresh")
        self.gaps_table = self._table(
            "gaps", "gaps_table", "gaps-table", widths=["5%", "6%", "19%", "19%", "11%", "20%", "10%", "10%"]
        )
        self.groups = gr.State([])  # per group: [[message_id, question], ...], in the table's order
        self.group = self._label(gr.Dropdown(label=texts["group"], choices=[], elem_id="gaps-group"), "group")
        self.questions = self._label(
            gr.CheckboxGroup(label=texts["questions"], choices=[], elem_id="gaps-questions"), "questions"
        )
        with gr.Row():
            self.reason = self._label(
                gr.Textbox(label=texts["reason"], elem_id="gaps-reason", max_lines=1, scale=3), "reason"
            )
            self.dismiss = self._text(gr.Button(texts["dismiss"], elem_id="gaps-dismiss", scale=1), "dismiss")
        self.answer_new = self._text(
            gr.Button(texts["answer_new"], variant="primary", elem_id="gaps-answer"), "answer_new"
        )
        with gr.Row():
            self.attach_id = self._label(
                gr.Textbox(label=texts["attach_id"], elem_id="gaps-attach-id", max_lines=1, scale=3), "attach_id"
            )
            self.attach = self._text(gr.Button(texts["attach"], elem_id="gaps-attach", scale=1), "attach")
        self.gaps_status = gr.Markdown(elem_id="gaps-status")

    def _entries_tab(self, texts: dict[str, str]) -> None:
        self._text(gr.Markdown(texts["entries_title"]), "entries_title")
        self.entries_refresh = self._text(
            gr.Button(texts["entries_refresh"], elem_id="entries-refresh"), "entries_refresh"
        )
        self.entries_table = self._table(
            "entries", "entries_table", "entries-table", widths=["18%", "7%", "25%", "8%", "7%", "9%", "8%", "9%", "9%"]
        )
        with gr.Row():
            self.choose = self._label(
                gr.Dropdown(label=texts["choose_entry"], choices=[], elem_id="entries-choose", scale=3), "choose_entry"
            )
            self.export = self._text(gr.Button(texts["export"], elem_id="entries-export", scale=1), "export")
        self.export_file = self._label(
            gr.File(label=texts["export_file"], elem_id="entries-export-file", visible=False), "export_file"
        )
        self._text(gr.Markdown(texts["editor_title"]), "editor_title")
        self.editing = gr.State(None)  # [id, revision] of the stored entry in the editor; None: a new one
        self.gap_ids = gr.State([])  # the gap's answers a new entry settles once published
        with gr.Row():
            entry_id = gr.Textbox(label=texts["id"], elem_id="entry-id", max_lines=1, scale=2)
            lang = gr.Radio(["fr", "en"], value="fr", label=texts["lang"], elem_id="entry-lang", scale=1)
            programme = gr.Textbox(
                value="general", label=texts["programme"], elem_id="entry-programme", max_lines=1, scale=1
            )
        question = gr.Textbox(label=texts["question"], elem_id="entry-question")
        alternates = gr.Textbox(label=texts["alternates"], lines=3, elem_id="entry-alternates")
        answer = gr.Textbox(label=texts["answer"], lines=5, elem_id="entry-answer")
        with gr.Row():
            tags = gr.Textbox(label=texts["tags"], elem_id="entry-tags", max_lines=1)
            source = gr.Textbox(label=texts["source"], elem_id="entry-source", max_lines=1)
            pair = gr.Textbox(label=texts["pair_id"], elem_id="entry-pair", max_lines=1)
        self.fields = [entry_id, lang, programme, question, alternates, answer, tags, source, pair]
        for component, key in zip(self.fields, FIELDS, strict=True):
            self._label(component, key)
        with gr.Row():
            self.new = self._text(gr.Button(texts["new"], elem_id="entry-new"), "new")
            self.preview = self._text(gr.Button(texts["preview"], elem_id="entry-preview"), "preview")
            self.publish = self._text(
                gr.Button(texts["publish"], variant="primary", elem_id="entry-publish"), "publish"
            )
            self.save = self._text(gr.Button(texts["save"], elem_id="entry-save"), "save")
            self.unpublish = self._text(gr.Button(texts["unpublish"], elem_id="entry-unpublish"), "unpublish")
            self.restore = self._text(gr.Button(texts["restore"], elem_id="entry-restore"), "restore")
        self.entry_status = gr.Markdown(elem_id="entry-status")
        self._text(gr.Markdown(texts["preview_title"]), "preview_title")
        self.warning = gr.Markdown(elem_id="preview-warning")
        self.answers = self._table("answers", "preview_answers", "preview-answers", widths=["30%", "35%", "35%"])
        self.conflicts = self._table("conflicts", "conflicts", "preview-conflicts", widths=["45%", "25%", "18%", "12%"])
        self._text(gr.Markdown(texts["suggestions_title"]), "suggestions_title")
        self.suggestions = self._label(
            gr.Dropdown(label=texts["suggestions"], choices=[], elem_id="suggestions"), "suggestions"
        )
        with gr.Row():
            self.accept = self._text(gr.Button(texts["accept"], elem_id="suggestion-accept"), "accept")
            self.reject = self._text(gr.Button(texts["reject"], elem_id="suggestion-reject"), "reject")

    def _audit_tab(self, texts: dict[str, str]) -> None:
        self._text(gr.Markdown(texts["audit_title"]), "audit_title")
        with gr.Row():
            self.audit_refresh = self._text(gr.Button(texts["audit_refresh"], elem_id="audit-refresh"), "audit_refresh")
            self.audit_export = self._text(gr.Button(texts["audit_export"], elem_id="audit-export"), "audit_export")
        self.audit_table = self._table("audit", "audit_table", "audit-table", widths=["13%", "8%", "13%", "20%", "46%"])
        self.audit_file = self._label(
            gr.File(label=texts["audit_file"], elem_id="audit-export-file", visible=False), "audit_file"
        )

    # -- what the tabs show

    def gaps(self, name: str, token: str, language: str | None):
        self.sign_in.check(name, token)
        with shown_errors(language) as texts:
            groups = self.runtime.curation.gaps()
        rows = [gap_row(n, g, texts) for n, g in enumerate(groups, 1)]
        kept = [[[q.message_id, q.question] for q in g.questions] for g in groups]
        choices = [(f"{n}. {texts['times'].format(n=len(g))} {g[0][1]}", str(n)) for n, g in enumerate(kept, 1)]
        first = kept[0] if kept else []
        return (
            table(language, "gaps", rows),
            kept,
            gr.update(choices=choices, value=choices[0][1] if choices else None),
            gr.update(choices=[(q, m) for m, q in first], value=[m for m, _ in first]),
        )

    def choose_group(self, name: str, token: str, chosen: str | None, groups: list):
        self.sign_in.check(name, token)
        group = groups[int(chosen) - 1] if chosen and chosen.isdigit() and 0 < int(chosen) <= len(groups) else []
        return gr.update(choices=[(q, m) for m, q in group], value=[m for m, _ in group])

    def pick_row(self, name: str, token: str, groups: list, event: gr.SelectData):
        """A click in the gaps table chooses that row's group."""
        self.sign_in.check(name, token)
        row = event.index[0] if isinstance(event.index, list | tuple) else event.index
        chosen = str(int(row) + 1)
        return gr.update(value=chosen), self.choose_group(name, token, chosen, groups)

    def entries(self, name: str, token: str, language: str | None):
        self.sign_in.check(name, token)
        texts = texts_for(language)
        uses = self.runtime.curation.uses()
        rows = []
        for e in self.runtime.curation.entries():
            use = uses.get(e.id)
            counts = [use.served, use.up, use.down] if use else [0, 0, 0]
            published = texts["yes" if e.published else "no"]
            rows.append(
                [e.id, e.content.lang, e.content.question, published, *counts, e.updated_by, when(e.updated_at)]
            )
        return table(language, "entries", rows), gr.update(choices=[r[0] for r in rows])

    def audit(self, name: str, token: str, language: str | None):
        self.sign_in.check(name, token)
        texts = texts_for(language)
        rows = [
            [when(r.at), r.actor, texts[ACTIONS.get(r.action, "edit")], r.entry_id, change_summary(r, texts)]
            for r in self.runtime.curation.audit()
        ]
        return table(language, "audit", rows)

    # -- the gap inbox's actions

    @staticmethod
    def _chosen(chosen: list[str] | None, given: str | None, missing: str, texts: dict[str, str]) -> tuple[list, str]:
        """The questions chosen and the text their action needs (a reason, an entry's id), or which is missing."""
        if not chosen:
            raise gr.Error(texts["choose_questions"])
        if not (given or "").strip():
            raise gr.Error(texts[missing])
        return chosen, (given or "").strip()

    def dismiss_gap(self, name: str, token: str, language: str | None, chosen: list[str] | None, reason: str):
        actor = self.sign_in.check(name, token)
        with shown_errors(language) as texts:
            chosen, reason = self._chosen(chosen, reason, "give_reason", texts)
            dismissed = self.runtime.curation.dismiss(chosen, reason, actor)
        return texts["dismissed"].format(n=dismissed), ""

    def answer_gap(self, name: str, token: str, language: str | None, chosen: list[str] | None, groups: list):
        """Start a new entry from the chosen questions: the newest is its question, the others its alternates."""
        self.sign_in.check(name, token)
        texts = texts_for(language)
        asked = {m: q for group in groups for m, q in group}
        questions = [asked[m] for m in chosen or () if m in asked]
        if not questions:
            raise gr.Error(texts["choose_questions"])
        taken = {e.id for e in self.runtime.curation.entries()}
        lang = detect_language(questions[0], default="en" if language == "en" else "fr")
        content = EntryContent(
            suggested_id(questions[0], taken), lang, questions[0], "", tuple(dict.fromkeys(questions[1:]))
        )
        gap_ids = [m for m in chosen or () if m in asked]
        said = texts["from_gap"].format(n=len(gap_ids))
        return (
            *fields_of(content),
            None,
            gap_ids,
            gr.update(choices=[], value=None),
            said,
            gr.Tabs(selected="entries"),
        )

    def attach_gap(self, name: str, token: str, language: str | None, chosen: list[str] | None, entry_id: str):
        actor = self.sign_in.check(name, token)
        with shown_errors(language) as texts:
            chosen, entry_id = self._chosen(chosen, entry_id, "give_attach_id", texts)
            questions = [q.question for q in self.runtime.curation.records.asked(chosen)]
            info = self.runtime.curation.entry_info(entry_id)
            published = self.runtime.curation.attach(entry_id, questions, info.revision, actor, chosen)
        return texts["attached"].format(id=entry_id, seconds=seconds(published, texts)) + answers_markdown(
            published, texts
        )

    # -- the editor's actions

    def load_entry(self, name: str, token: str, language: str | None, entry_id: str | None):
        self.sign_in.check(name, token)
        with shown_errors(language) as texts:
            if not entry_id:
                raise gr.Error(texts["not_loaded"])
            entry = self.runtime.curation.records.entry(entry_id)
            suggestions = self.runtime.curation.suggestions(entry_id)
        state = texts["published_state" if entry.published else "unpublished_state"]
        return (
            *fields_of(entry.content),
            [entry.id, entry.revision],
            [],
            gr.update(
                choices=[(f"{q.question} ({q.faq_score or 0:.2f})", q.message_id) for q in suggestions], value=None
            ),
            texts["loaded"].format(id=entry.id, revision=entry.revision, state=state),
        )

    def new_entry(self, name: str, token: str, language: str | None):
        self.sign_in.check(name, token)
        texts = texts_for(language)
        empty = EntryContent("", "en" if language == "en" else "fr", "", "")
        return (*fields_of(empty), None, [], gr.update(choices=[], value=None), texts["cleared"])

    def preview_entry(self, name: str, token: str, language: str | None, editing: list | None, *values: Any):
        self.sign_in.check(name, token)
        with shown_errors(language) as texts:
            content = draft_of(values).content()
            is_edit = editing is not None and editing[0] == content.id
            preview = self.runtime.curation.preview(content, [content.question, *content.alternates], is_edit)
        rows = [[now.question, answer_cell(now, texts), answer_cell(then, texts)] for now, then in preview.answers]
        conflicts = [[c.question, c.entry_id, texts[c.kind], c.similarity] for c in preview.conflicts]
        warning = texts["conflict_warning"].format(n=len(conflicts)) if conflicts else texts["no_conflict"]
        return warning, table(language, "answers", rows), table(language, "conflicts", conflicts)

    def publish_entry(self, name: str, token: str, language: str | None, gap_ids: list[str], *values: Any):
        actor = self.sign_in.check(name, token)
        with shown_errors(language) as texts:
            published = self.runtime.curation.create(draft_of(values).content(), actor, gap_ids or [])
        said = texts["live"].format(
            id=published.entry_id, revision=published.revision, seconds=seconds(published, texts)
        )
        return said + answers_markdown(published, texts), [published.entry_id, published.revision], []

    def save_entry(self, name: str, token: str, language: str | None, editing: list | None, *values: Any):
        actor = self.sign_in.check(name, token)
        with shown_errors(language) as texts:
            entry_id, revision = self._editing(editing, texts)
            published = self.runtime.curation.update(entry_id, draft_of(values).content(), revision, actor)
        said = texts["saved"].format(id=entry_id, revision=published.revision, seconds=seconds(published, texts))
        return said, [entry_id, published.revision]

    def unpublish_entry(self, name: str, token: str, language: str | None, editing: list | None):
        return self._set_published(name, token, language, editing, False)

    def restore_entry(self, name: str, token: str, language: str | None, editing: list | None):
        return self._set_published(name, token, language, editing, True)

    def _set_published(self, name: str, token: str, language: str | None, editing: list | None, published: bool):
        actor = self.sign_in.check(name, token)
        with shown_errors(language) as texts:
            entry_id, revision = self._editing(editing, texts)
            done = self.runtime.curation.set_published(entry_id, published, revision, actor)
        said = texts["restored" if published else "unpublished"].format(id=entry_id, revision=done.revision)
        return said, [entry_id, done.revision]

    @staticmethod
    def _editing(editing: list | None, texts: dict[str, str]) -> tuple[str, int]:
        if not editing:
            raise gr.Error(texts["not_loaded"])
        return str(editing[0]), int(editing[1])

    def accept_suggestion(self, name: str, token: str, language: str | None, editing: list | None, chosen: str | None):
        return self._decide(name, token, language, editing, chosen, True)

    def reject_suggestion(self, name: str, token: str, language: str | None, editing: list | None, chosen: str | None):
        return self._decide(name, token, language, editing, chosen, False)

    def _decide(
        self, name: str, token: str, language: str | None, editing: list | None, chosen: str | None, accept: bool
    ):
        actor = self.sign_in.check(name, token)
        with shown_errors(language) as texts:
            entry_id, revision = self._editing(editing, texts)
            if not chosen:
                raise gr.Error(texts["choose_suggestion"])
            published = self.runtime.curation.decide_suggestion(entry_id, chosen, accept, revision, actor)
        if published is None:
            return texts["rejected"], editing
        said = texts["accepted"].format(id=entry_id, revision=published.revision)
        return said, [entry_id, published.revision]

    def export_entries(self, name: str, token: str) -> str:
        self.sign_in.check(name, token)
        path = self.exports / "staff-entries.yaml"
        path.write_text(self.runtime.curation.export_yaml(), encoding="utf-8")
        return str(path)

    def export_audit(self, name: str, token: str, language: str | None) -> str:
        self.sign_in.check(name, token)
        path = self.exports / "audit.csv"
        path.write_text(audit_csv(self.runtime.curation.audit(limit=1_000_000)), encoding="utf-8")
        return str(path)

    # -- wiring

    def relabel(self, language: str, *rows: list[list[Any]]) -> dict[Any, Any]:
        """The tabs in ``language``: labels, buttons, headings, and each table's rows under its headers."""
        texts = texts_for(language)
        updates = {c: gr.update(label=texts[key]) for c, key in self.labelled.items()}
        updates |= {c: gr.update(value=texts[key]) for c, key in self.valued.items()}
        for c, name, shown in zip(self.tables, ("gaps", "entries", "answers", "conflicts", "audit"), rows, strict=True):
            kept = [r for r in shown or () if any(v not in ("", None) for v in r)]  # an empty table sends one blank row
            updates[c] = gr.update(label=texts[self.labelled[c]], value=table(language, name, kept))
        return updates

    @property
    def tables(self) -> list[gr.Dataframe]:
        return [self.gaps_table, self.entries_table, self.answers, self.conflicts, self.audit_table]

    def load(self, name: str, token: str, language: str | None):
        """Everything the tabs list, for a staff member who just signed in."""
        return (
            *self.gaps(name, token, language),
            *self.entries(name, token, language),
            self.audit(name, token, language),
        )

    def reopen(self, name: str, token: str, language: str | None, editing: list | None):
        """The entry in the editor again, as stored now (after a suggestion changed its phrasings)."""
        *shown, _ = self.load_entry(name, token, language, str(editing[0]) if editing else None)
        return (*shown, gr.update())  # the status keeps what the change said

    def _listen(self) -> None:
        signed = self.sign_in.inputs
        name_token = signed[:2]
        gaps_out = [self.gaps_table, self.groups, self.group, self.questions]
        entries_out = [self.entries_table, self.choose]
        editor_out = [*self.fields, self.editing, self.gap_ids, self.suggestions, self.entry_status]
        private: Any = {"api_visibility": "private"}  # exposed under its own name already, or for the page only
        self.gaps_refresh.click(self.gaps, signed, gaps_out)
        self.group.input(self.choose_group, [*name_token, self.group, self.groups], self.questions)
        # private: a table's click has event data no API call could send
        self.gaps_table.select(self.pick_row, [*name_token, self.groups], [self.group, self.questions], **private)
        self.dismiss.click(
            self.dismiss_gap, [*signed, self.questions, self.reason], [self.gaps_status, self.reason]
        ).success(self.gaps, signed, gaps_out, **private)
        self.answer_new.click(self.answer_gap, [*signed, self.questions, self.groups], [*editor_out, self.tabs])
        self.attach.click(self.attach_gap, [*signed, self.questions, self.attach_id], self.gaps_status).success(
            self.gaps, signed, gaps_out, **private
        )
        self.entries_refresh.click(self.entries, signed, entries_out)
        self.choose.input(self.load_entry, [*signed, self.choose], editor_out)
        self.new.click(self.new_entry, signed, editor_out)
        self.preview.click(
            self.preview_entry, [*signed, self.editing, *self.fields], [self.warning, self.answers, self.conflicts]
        )
        self.publish.click(
            self.publish_entry, [*signed, self.gap_ids, *self.fields], [self.entry_status, self.editing, self.gap_ids]
        ).success(self.entries, signed, entries_out, **private).success(self.gaps, signed, gaps_out, **private)
        changes: list[tuple[gr.Button, Callable[..., Any], list[Any]]] = [
            (self.save, self.save_entry, [*signed, self.editing, *self.fields]),
            (self.unpublish, self.unpublish_entry, [*signed, self.editing]),
            (self.restore, self.restore_entry, [*signed, self.editing]),
        ]
        for button, handler, inputs in changes:
            button.click(handler, inputs, [self.entry_status, self.editing]).success(
                self.entries, signed, entries_out, **private
            )
        for button, handler in ((self.accept, self.accept_suggestion), (self.reject, self.reject_suggestion)):
            button.click(handler, [*signed, self.editing, self.suggestions], [self.entry_status, self.editing]).success(
                self.reopen, [*signed, self.editing], editor_out, **private
            )
        offer_file(self.export.click(self.export_entries, name_token, self.export_file), self.export_file)
        self.audit_refresh.click(self.audit, signed, self.audit_table)
        offer_file(self.audit_export.click(self.export_audit, signed, self.audit_file), self.audit_file)
        relabelled = [*self.labelled, *self.valued]  # the tables among the labelled
        self.sign_in.lang.change(self.relabel, [self.sign_in.lang, *self.tables], relabelled, api_visibility="private")
