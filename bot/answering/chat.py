"""The conversation service: a question (and its history) in, a cited answer in the user's language out.

The conversation pipeline (``bot.conversation``) calls it for every chat turn; it knows nothing of HTTP, of
storage or of personal data (the message it gets is already redacted).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from langchain_core.documents import Document

from bot.answering.analysis import QuestionAnalysis, analyse
from bot.answering.answerability import Answerability, Features, features
from bot.answering.citations import CitationNumbers
from bot.answering.followup import conversation_topic, namings_in, programme_asked
from bot.answering.generators import AnswerStream, ExtractiveGenerator, FaqGenerator, Generator
from bot.answering.grounding import lowercase_vocabulary
from bot.answering.llm import LlmGenerator
from bot.answering.llm_backends import LlmClient, LlmUnavailableError, build_client
from bot.answering.parts import PartAnswer, merged_passages, reply
from bot.answering.policy import Decision, Limits, decide
from bot.answering.premise import framed
from bot.answering.retrieval import EVERYWHERE, Passage, Retrieval, Retriever, Scope
from bot.answering.rewrite import rewrite_follow_up
from bot.answering.spelling import CharFaqMatcher, Phrasing, looks_misspelt, normalise, vocabulary_of
from bot.config import Settings
from bot.indexing.documents import LoadedFile
from bot.indexing.index import KnowledgeIndex
from bot.indexing.keywords import KeywordIndex
from bot.language import detect_language
from bot.safety.guard import without_planted_instructions
from bot.schema import AnswerMode, Citation, Lang, Turn
from bot.text import WordWeights

REFUSAL = {
    "fr": (
        "Je n'ai pas d'information fiable sur ce sujet dans ma base de connaissances, je préfère donc ne "
        "pas répondre. Je peux vous renseigner sur l'École de la data et de l'IA du groupe La Poste, sur "
        "la formation gratuite Objectif IA et sur les fondamentaux de l'IA. Pour toute autre question sur "
        "ces programmes, adressez-vous à leurs canaux officiels : le site officiel du groupe La Poste pour "
        "l'École de la data et de l'IA, OpenClassrooms ou l'Institut Montaigne pour Objectif IA."
    ),
    "en": (
        "I don't have reliable information on this in my knowledge base, so I'd rather not answer. I can "
        "help with La Poste's École de la data et de l'IA, the free Objectif IA course and AI fundamentals. "
        "For anything else about these programmes, please use their official channels: La Poste group's "
        "official website for the École de la data et de l'IA, OpenClassrooms or Institut Montaigne for "
        "Objectif IA."
    ),
}
log = logging.getLogger("tutor.chat")
SNIPPET_CHARS = 220
# The character-level FAQ match is read for the entries retrieval found; it is asked for this many times as
# many (a misspelt question's top entries by characters are not always those by meaning).
CHAR_CANDIDATES = 10


@dataclass(frozen=True)
class Examination:
    """A question searched and analysed: what the decision and the generators work from."""

    question: str  # the user's message, normalised (SMS forms expanded, misspellings corrected)
    retrieval: Retrieval
    analysis: QuestionAnalysis
    features: Features


@dataclass
class ChatAnswer:
    """A finished answer, with what it was built from (the evaluation suite scores these details)."""

    answer: str
    mode: AnswerMode
    refused: bool
    lang: Lang
    citations: list[Citation]
    query: str
    retrieved: list[tuple[str, float]] = field(default_factory=list)
    faq_candidates: list[tuple[str, float]] = field(default_factory=list)
    reason: str = ""
    latency_ms: float = 0.0
    passages: tuple[Passage, ...] = ()  # the passages the answer could cite, ``[n]`` being the n-th


def _snippet(passage: Passage) -> str:
    body = " ".join(without_planted_instructions(passage.body).split())
    return body if len(body) <= SNIPPET_CHARS else body[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


def ranked_sources(retrieval: Retrieval, decision: Decision) -> list[tuple[str, float]]:
    """Distinct sources in the order the answer relied on them: the FAQ entry served, then the passages."""
    faq = decision.faq if decision.mode == "faq" else None
    ranked = [(faq.source_id, faq.score)] if faq else []
    ranked += [(p.source_id, p.score) for p in retrieval.passages]
    distinct: dict[str, float] = {}
    for source, score in ranked:
        distinct.setdefault(source, round(score, 4))
    return list(distinct.items())


class ChatService:
    def __init__(self, settings: Settings, index: KnowledgeIndex | None = None) -> None:
        self.settings = settings
        self.index = index or KnowledgeIndex(settings)
        self.retriever = Retriever(self.index, settings.top_k, None, settings.keyword_weight)
        self.llm_error: str | None = None
        self._llm_client: LlmClient | None = None
        if settings.llm_backend != "none":
            self._llm_client = self._start_llm()
        self.refresh()

    def refresh(self) -> None:
        """Build what is derived from the whole knowledge base (the keyword index, word weights, the spelling
        vocabulary, the character-level FAQ matcher, the generators that use them): at start, and again after
        a staff entry is published (``bot.curation``). Each is built aside, then swapped in whole, so a question
        answered meanwhile sees either the old knowledge base or the new one."""
        passages = self.index.passages.get()
        faq = self.index.phrasings.get()
        weights = WordWeights(d.page_content for d in passages)
        # Well-written text only (pages, curated questions and answers): an SMS alternate would make its
        # misspellings "known". Built once, with the index the normaliser searches it by.
        vocabulary = vocabulary_of(
            [
                *(d.page_content for d in passages),
                *(f"{d.metadata.get('question', '')} {d.metadata.get('answer', '')}" for d in faq),
            ]
        )
        looks_misspelt("", "fr", vocabulary)
        faq_chars = CharFaqMatcher(
            [Phrasing(d.metadata["source_id"], d.metadata.get("lang", "fr"), d.page_content) for d in faq]
        )
        extractive = ExtractiveGenerator(weights, self.settings.max_answer_sentences)
        generators: dict[str, Generator] = {"faq": FaqGenerator(), "extractive": extractive}
        if self._llm_client is not None:
            vocabulary_llm = lowercase_vocabulary(d.page_content for d in passages)
            generators["llm"] = LlmGenerator(self._llm_client, extractive, vocabulary_llm, self.settings)
        self.retriever.keywords = KeywordIndex(passages)
        self.weights, self.vocabulary, self.faq_chars, self.generators = weights, vocabulary, faq_chars, generators
        # how the curated questions name the programmes ("ecole data ia", "Objectif IA"): users write them so
        self.namings = namings_in(d.page_content for d in faq)

    def warm(self) -> None:
        """Pay at start-up what the first questions would otherwise pay: the model's load, and the vectors of
        the programmes' names as the curated questions write them (``Retriever.remember_namings``)."""
        self.index.embeddings.ensure_loaded()
        self.retriever.remember_namings(self.namings)

    def with_file(self, loaded: LoadedFile | None, path: str) -> ChatService:
        """This service as it would answer if the file ``path`` held ``loaded`` (``None``: were gone), to
        preview a staff entry before it is published; nothing is written. Word weights and the spelling
        vocabulary stay the current ones (one entry barely moves them)."""
        by_part = self.index.by_part(loaded.documents if loaded else [])
        documents = {
            part: [
                Document(id=f"preview:{part}:{n}", page_content=d.page_content, metadata=d.metadata)
                for n, d in enumerate(rows)
            ]
            for part, rows in by_part.items()
        }
        passages = [d for d in self.index.passages.get() if d.metadata.get("path") != path] + documents["passages"]
        phrasings = [d for d in self.index.phrasings.get() if d.metadata.get("path") != path] + documents["phrasings"]
        preview = copy.copy(self)
        preview.retriever = self.retriever.with_file(path, documents, KeywordIndex(passages))
        preview.faq_chars = CharFaqMatcher(
            [Phrasing(d.metadata["source_id"], d.metadata.get("lang", "fr"), d.page_content) for d in phrasings]
        )
        return preview

    @cached_property
    def answerability(self) -> Answerability:
        """The profile's fitted model, read on the first decision (its fit searches with this service)."""
        return Answerability.for_profile(self.settings.embedding_profile)

    @cached_property
    def limits(self) -> Limits:
        return Limits.for_settings(self.settings, self.answerability)

    def _start_llm(self) -> LlmClient | None:
        """Load or probe the configured LLM; when it cannot answer, the no-LLM modes do (and say why)."""
        try:
            client = build_client(self.settings)
            assert client is not None
            client.check()
        except LlmUnavailableError as exc:
            self.llm_error = str(exc)
            log.warning("LLM unavailable, answering without it: %s", exc)
            return None
        return client

    @property
    def llm_backend(self) -> str | None:
        llm = self.generators.get("llm")
        return llm.client.name if isinstance(llm, LlmGenerator) else None

    def _writer(self, mode: AnswerMode) -> tuple[AnswerMode, str]:
        """The generator for a decision's mode, and a note when the one asked for cannot be used."""
        if mode == "extractive" and self.settings.answer_mode in ("auto", "llm"):
            if "llm" in self.generators:
                return "llm", ""
            if self.settings.answer_mode == "llm":
                return mode, f"llm unavailable: {self.llm_error or 'no TUTOR_LLM_BACKEND set'}"
        return mode, ""

    def examine(
        self, message: str, history: Sequence[Turn] = (), lang: Lang | None = None, scope: Scope = EVERYWHERE
    ) -> Examination:
        """Search, analyse the question, and measure what the decision is made from (the answerability
        model's fit reads these). ``message`` and ``history`` are already redacted and screened by the
        conversation (``bot.conversation``): this layer never sees personal data."""
        lang = lang or detect_language(message)
        # SMS forms expanded and, in a misspelt question, unknown words corrected ("c kan la 1ere promo de
        # lecol"); a well-written question comes back unchanged (``bot.answering.spelling``).
        message = normalise(message, lang, self.vocabulary)
        topic = conversation_topic(message, history)  # what a follow-up is about (``bot.answering.followup``)
        rewritten = self._rewrite(message, topic.context, lang) if topic else None
        analysis = None
        embeddings = self.index.embeddings
        if rewritten:  # a standalone question: searched as it is, still judged as a follow-up (stricter FAQ)
            retrieval = replace(self.retriever.search(rewritten, lang, scope), condensed=True, standalone=rewritten)
        elif topic:
            embeddings.prefetch_queries([message, topic.context])  # the search blends both vectors
            retrieval = self.retriever.search(message, lang, scope, topic.context, topic.programme)
        else:
            analysis = analyse(message, lang, self.weights)
            named = programme_asked(message)  # its name weighs less in the passages' search
            naming = named.words if named else ()
            parts = [normalise(p, lang, self.vocabulary) for p in analysis.parts] if len(analysis.parts) > 1 else []
            # each part is searched next (``_draft_parts``): one batch for all
            embeddings.prefetch_queries([message, *parts])
            programme = named.programme if named else None
            retrieval = self.retriever.search(message, lang, scope, programme=programme, naming=naming)
        asked = retrieval.standalone or message
        analysis = analysis or analyse(asked, retrieval.lang, self.weights)
        chars = dict(self.faq_chars.best(asked, retrieval.lang, k=len(retrieval.faq) * CHAR_CANDIDATES))
        return Examination(message, retrieval, analysis, features(retrieval, analysis, self.weights, chars))

    def decide(self, examined: Examination) -> Decision:
        """The decision (``bot.answering.policy``) on the answerability model's judgement."""
        judgement = self.answerability.judge(examined.features)
        mode, expected = self.settings.answer_mode, examined.analysis.answer_type
        return decide(examined.retrieval, judgement, self.limits, mode, expected)

    def prepare(
        self, message: str, history: Sequence[Turn] = (), lang: Lang | None = None, scope: Scope = EVERYWHERE
    ) -> tuple[Retrieval, Decision]:
        """Search, then decide."""
        examined = self.examine(message, history, lang, scope)
        return examined.retrieval, self.decide(examined)

    def _rewrite(self, message: str, previous: str, lang: Lang) -> str | None:
        """With an LLM in use, a follow-up is rewritten by it into a standalone question (see
        ``bot.answering.rewrite``); without one, or when its rewrite is rejected, ``None``."""
        llm = self.generators.get("llm")
        if (
            not isinstance(llm, LlmGenerator)
            or self.settings.answer_mode not in ("auto", "llm")
            or not self.settings.llm_rewrite_budget_s
        ):
            return None
        return rewrite_follow_up(
            llm.client, message, previous, lang, llm.vocabulary, self.settings.llm_rewrite_budget_s
        )

    def draft(
        self,
        message: str,
        history: Sequence[Turn] = (),
        lang: Lang | None = None,
        scope: Scope = EVERYWHERE,
        started: float | None = None,
    ) -> AnswerDraft:
        """Decide, then start writing. Retrieval and the decision happen here, so a failure in them is raised
        before any text is streamed; the text is written as the draft is read. A question in several parts is
        answered part by part (``bot.answering.parts``)."""
        started = time.perf_counter() if started is None else started
        examined = self.examine(message, history, lang, scope)
        retrieval, analysis = examined.retrieval, examined.analysis
        if len(analysis.parts) > 1 and not retrieval.condensed:
            return self._draft_parts(examined, scope, started)
        decision = self.decide(examined)
        if decision.mode == "refused":
            return AnswerDraft(retrieval, decision, AnswerStream([REFUSAL[retrieval.lang]], mode="refused"), started)
        return AnswerDraft(retrieval, decision, self._write(examined.question, history, examined, decision), started)

    def _write(self, message: str, history: Sequence[Turn], examined: Examination, decision: Decision) -> AnswerStream:
        """The answer's text from the generator of the decision's mode; a yes/no question's opening is
        framed by what the answer says of its premise (``bot.answering.premise``)."""
        retrieval = examined.retrieval
        name, note = self._writer(decision.mode)
        # Retrieval used the standalone query; the extractive generator gets the user's own words and the
        # history, the LLM the rewritten question alone: a small model given "et comment on s'en protège ?"
        # after a question on hallucinations tends to answer the earlier question again.
        if name == "llm" and retrieval.standalone:
            message, history = retrieval.standalone, []
        pieces = self.generators[name].generate(
            message, decision.passages, history, retrieval.lang, examined.analysis.answer_type
        )
        if isinstance(pieces, AnswerStream):
            return pieces
        if examined.analysis.premise is not None:  # whole, to be read before its first word is shown
            own = decision.mode == "faq" and examined.features.faq_focus >= 1.0
            pieces = iter([framed(examined.analysis, "".join(pieces), retrieval.lang, own)])
        return AnswerStream(pieces, mode=name, note=note)

    def _draft_parts(self, examined: Examination, scope: Scope, started: float) -> AnswerDraft:
        """Each part searched, decided and written on its own, then one reply citing them all."""
        lang = examined.retrieval.lang
        answers: list[PartAnswer] = []
        first = examined.analysis.parts[0]
        for index, part in enumerate(examined.analysis.parts):
            if examined.analysis.leaning[index] and answers[0].decision.mode == "refused":
                # "Where is Probayes headquartered and what does it specialise in?": a part that speaks of the
                # first one's subject by a pronoun is declined with it. The text found for it is then about the
                # same thing the first part found nothing reliable on (the fit part's and the test part's such
                # answers were all near-topic ones); a part that names its own subject is judged on its own.
                answers.append(PartAnswer(part, Decision("refused", "speaks of part 1, which was declined"), ()))
                continue
            # A later part is read as a follow-up of the first ("…, et combien de temps dure-t-il ?"): searched
            # with it as context when it names too little of its own (``bot.answering.followup``).
            context = [Turn("user", first)] if index else []
            own = self.examine(part, context, lang, scope)
            decision = self.decide(own)
            pieces = self._write(own.question, context, own, decision) if decision.mode != "refused" else ()
            answers.append(PartAnswer(part, decision, pieces))
        answered = [a for a in answers if a.decision.mode != "refused"]
        reason = " | ".join(f"part {n}: {a.decision.mode}: {a.decision.reason}" for n, a in enumerate(answers, 1))
        if not answered:
            refusal = Decision("refused", reason)
            return AnswerDraft(examined.retrieval, refusal, AnswerStream([REFUSAL[lang]], mode="refused"), started)
        passages, numberings = merged_passages(answers)
        modes = {a.pieces.mode for a in answered if isinstance(a.pieces, AnswerStream)}
        mode: AnswerMode = "llm" if "llm" in modes else "extractive"
        decision = Decision("extractive", reason, passages=passages)
        return AnswerDraft(
            examined.retrieval, decision, AnswerStream(reply(answers, numberings, lang), mode=mode), started
        )

    def declined(self, message: str, lang: Lang | None, reason: str, started: float | None = None) -> AnswerDraft:
        """The refusal of a message the guard flagged: nothing is searched."""
        lang = lang or detect_language(message)
        return AnswerDraft(
            Retrieval(query=message, lang=lang, faq=[], passages=[]),
            Decision("refused", reason),
            AnswerStream([REFUSAL[lang]], mode="refused"),
            time.perf_counter() if started is None else started,
        )


@dataclass
class AnswerDraft:
    """The answer being written: read it for its pieces of text, then ``finish`` it for its finished form.
    What was read is kept, so the finished answer is exactly the text the reader was given."""

    retrieval: Retrieval
    decision: Decision
    stream: AnswerStream
    started: float
    written: list[str] = field(default_factory=list)
    numbers: CitationNumbers = field(init=False)

    def __post_init__(self) -> None:
        self.numbers = CitationNumbers(len(self.decision.passages))

    def __iter__(self) -> Iterator[str]:
        for piece in self.stream:
            if shown := self.numbers.feed(piece):
                self.written.append(shown)
                yield shown
        if rest := self.numbers.flush():
            self.written.append(rest)
            yield rest

    def finish(self) -> ChatAnswer:
        """Only the passages the text actually cites become citations, numbered as the text shows them; the
        mode is that of the generator that wrote it (the LLM's may fall back). Text not read yet is written
        first. The passages are reordered to match: the n-th is the one the text cites as [n]."""
        for _ in self:
            pass
        answer = "".join(self.written).strip()
        given = self.decision.passages
        cited = [given[k - 1] for k in sorted(self.numbers.shown, key=self.numbers.shown.__getitem__)]
        passages = (*cited, *(p for k, p in enumerate(given, start=1) if k not in self.numbers.shown))
        citations = [
            Citation(n=n, source_id=p.source_id, title=p.title, snippet=_snippet(p), url=p.url)
            for n, p in enumerate(cited, start=1)
        ]
        return ChatAnswer(
            answer=answer,
            mode=self.stream.mode,
            refused=self.decision.mode == "refused",
            lang=self.retrieval.lang,
            citations=citations,
            query=self.retrieval.query,
            retrieved=ranked_sources(self.retrieval, self.decision),
            faq_candidates=[(m.source_id, round(m.score, 4)) for m in self.retrieval.faq],
            reason="; ".join(filter(None, [self.decision.reason, self.stream.note])),
            latency_ms=round((time.perf_counter() - self.started) * 1000, 1),
            passages=passages,
        )
