"""Answer generators: one small interface, ``generate(question, passages, history, lang) -> stream of text``.

Each yields the answer piece by piece (the API streams what it yields) and cites passages as ``[n]``, where
``n`` is the passage's 1-based position in the list it was given: the caller renumbers them in the order they
appear and turns them into the citations it returns (``bot.answering.citations.CitationNumbers``), so the numbers
always map to the sources shown.

- ``FaqGenerator``: the curated answer of the matched FAQ entry, verbatim, then its citation.
- ``ExtractiveGenerator``: the sentences of the passages that best answer the question, the passage with the
  best one first, each followed by its citations (a fact two passages state is said once, citing both); the
  best one comes with its neighbours in its passage (a section that announces a list goes on to give it),
  unless the question asks for something other than a list and a better sentence further on answers it. No
  model: fast, and it cannot say what the knowledge base does not say.

Neither ever quotes an instruction planted in the knowledge base (``bot.safety.guard.is_planted_instruction``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from bot.answering.analysis import AnswerType, analyse
from bot.answering.retrieval import Passage
from bot.safety.guard import is_planted_instruction, without_planted_instructions
from bot.schema import AnswerMode, Lang, Turn
from bot.text import WordWeights, content_words, sentences


class AnswerStream:
    """An answer's text as it is generated, and how it was made: a generator may change its ``mode`` (the
    ``llm`` one falls back to ``extractive``) and explain why in ``note``, known once the text is consumed."""

    def __init__(self, pieces: Iterable[str] = (), mode: AnswerMode = "extractive", note: str = "") -> None:
        self.pieces: Iterator[str] = iter(pieces)
        self.mode = mode
        self.note = note

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self.pieces)


class Generator(Protocol):
    """``answer_type``: what the question expects, from the chat's analysis (``bot.answering.analysis``),
    so that a generator need not read the question again."""

    name: AnswerMode

    def generate(
        self,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn],
        lang: Lang,
        answer_type: AnswerType | None = None,
    ) -> Iterator[str]: ...


class FaqGenerator:
    name: AnswerMode = "faq"

    def generate(
        self,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn],
        lang: Lang,
        answer_type: AnswerType | None = None,
    ) -> Iterator[str]:
        yield without_planted_instructions(passages[0].body)
        yield " [1]"


# When the only passages are in the other language, say so rather than silently switch language.
OTHER_LANGUAGE_NOTE = {
    "en": "I only found this in the French documentation: ",
    "fr": "Je n'ai trouvé cette information que dans la documentation en anglais : ",
}
MIN_SENTENCE_CHARS = 25
CONTEXT_WEIGHT = 0.3  # weight of the previous question's words when picking sentences for a follow-up
MEANING_WEIGHT = 1.0  # weight of the sentence's cosine similarity with the question
RANK_PRIOR = 0.2  # bonus of a sentence from the best passage (halved for the second, ...)
OPENING_PRIOR = 0.1  # bonus of the first sentence of a section
KEEP_RATIO = 0.5  # a further sentence is kept if it scores at least this share of the best one
MAX_ANSWER_CHARS = 600  # sentences picked one by one, from any passage, stop here
# The best passage's best sentence with the sentences around it (one passage's text, read in order) may run
# longer: a section that lists rights, principles or steps needs its list.
MAX_CONTEXT_CHARS = 800
SAID_ALREADY = 0.7  # share of a sentence's (rarity-weighted) words already in the answer that makes it a repeat


@dataclass(frozen=True)
class _Candidate:
    passage: int
    position: int
    text: str
    score: float
    # other passages that say the same thing: cited with it rather than quoted again
    also: tuple[int, ...] = field(default=(), compare=False)

    @property
    def sources(self) -> tuple[int, ...]:
        return (self.passage, *self.also)


def _said_by(candidate: _Candidate, chosen: Sequence[_Candidate], weights: WordWeights) -> int | None:
    """Which chosen sentence already says what ``candidate`` says, if one does: a FAQ entry and a page often
    state the same fact, and saying it twice wastes the reader's time. Said already means that most of the
    candidate's words, each weighted by its rarity, are in the chosen sentences ("Ce diplôme est reconnu par
    France Compétences." after "…un diplôme enregistré au RNCP et reconnu par France Compétences."); a
    candidate that adds a rare word (a figure, a name, a condition) adds a fact and is not a repeat. The
    answer is the chosen sentence that shares most of those words: the one to cite the candidate's source on."""
    mine = content_words(candidate.text)
    shared = [mine & content_words(c.text) for c in chosen]
    covered = set().union(*shared) if shared else set()
    if not _repeats(mine, covered, weights):
        return None
    return max(range(len(chosen)), key=lambda i: weights(shared[i]))


def _repeats(words: set[str], said: set[str], weights: WordWeights) -> bool:
    """Whether a sentence of these ``words`` says again what was ``said``: most of its words, each weighted by
    its rarity, are there."""
    return bool(words) and weights(words & said) >= SAID_ALREADY * weights(words)


def _answer_first(chosen: Sequence[_Candidate]) -> list[_Candidate]:
    """The chosen sentences in the order to read them: each passage's sentences together and in reading
    order (the sentence before the best one names its subject; a list follows its announcement), the
    passages in the order of their best sentence, so that the sentence that answers the question comes
    first and a passage that only adds to it comes after, whatever their rank in retrieval."""
    best = {c.passage: max(o.score for o in chosen if o.passage == c.passage) for c in chosen}
    return sorted(chosen, key=lambda c: (-best[c.passage], c.passage, c.position))


def _units(passage: Passage) -> list[tuple[int, str, float]]:
    """The sentences of a passage that may answer, as (position, text, cosine with the question). A sentence
    too short to inform alone ("It had 51 learners.") is joined to the one just before it, whose point it
    completes. Left out: a sentence announcing a list (ends with ":"), a fragment cut by the size splitter
    (starts in lower case) and an instruction planted in the content (never an answer)."""
    kept: list[tuple[int, str, float]] = []
    previous_kept = False  # whether the sentence just before this one is the last unit kept
    for position, sentence in enumerate(sentences(passage.body)):
        meaning = passage.sentence_scores.get(position, 0.0)
        if is_planted_instruction(sentence):
            previous_kept = False
            continue
        if len(sentence) < MIN_SENTENCE_CHARS and previous_kept:
            first, text, cosine = kept[-1]
            kept[-1] = (first, f"{text} {sentence}", max(cosine, meaning))
            previous_kept = False
            continue
        previous_kept = not (len(sentence) < MIN_SENTENCE_CHARS or sentence.endswith(":") or sentence[0].islower())
        if previous_kept:
            kept.append((position, sentence, meaning))
    return kept


def _telling(asked: set[str], units: Sequence[set[str]], weights: WordWeights) -> dict[str, float]:
    """How much each word of the question tells about which of these sentences answers it: its rarity in
    the knowledge base, scaled by the share of the sentences that lack it. The passages were found for the
    question's subject, so the subject's words are in most of their sentences ("cross-validation", all
    through its section) and the sentence that answers is the one with the word the others lack ("Its
    drawback is computing time" for "what is the main drawback of cross-validation?")."""
    if not units:
        return dict.fromkeys(asked, 0.0)
    return {w: weights([w]) * (1 - sum(w in words for words in units) / len(units)) for w in asked}


class ExtractiveGenerator:
    name: AnswerMode = "extractive"

    def __init__(self, weights: WordWeights, max_sentences: int = 3) -> None:
        self.weights = weights
        self.max_sentences = max_sentences

    def select(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = (), lists: bool = False
    ) -> list[_Candidate]:
        """The sentences closest in meaning to the question (cosine, from vectors computed at ingest) that
        best cover its words, each word weighted by its rarity in the knowledge base and among these sentences
        (``_telling``), favouring better passages and the opening sentence of a section (usually the one that
        states its point). In a follow-up, the previous question's words count too, but less: "et le rythme ?"
        is about the rhythm. ``lists``: the question asks for a list, which follows its best sentence."""
        asked = content_words(question)
        previous = [t.content for t in history if t.role == "user"]
        context = content_words(previous[-1]) - asked if previous else set()
        units = [
            (rank, unit, content_words(unit[1])) for rank, passage in enumerate(passages) for unit in _units(passage)
        ]
        answered = [t.content for t in history if t.role == "assistant"]
        if answered:  # a follow-up asks for more: what the last answer said is not said again, unless it is all
            told = content_words(answered[-1])
            units = [u for u in units if not _repeats(u[2], told, self.weights)] or units
        weight = _telling(asked | context, [words for _, _, words in units], self.weights)
        total = max(sum(weight[w] for w in asked) + CONTEXT_WEIGHT * sum(weight[w] for w in context), 1e-9)
        candidates = []
        for rank, (position, sentence, meaning), words in units:
            covered = sum(weight[w] for w in asked & words) + CONTEXT_WEIGHT * sum(weight[w] for w in context & words)
            prior = RANK_PRIOR / (rank + 1) + (OPENING_PRIOR if position == 0 else 0.0)
            candidates.append(_Candidate(rank, position, sentence, MEANING_WEIGHT * meaning + covered / total + prior))
        if not candidates:
            return []
        ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
        whole = passages[0].metadata.get("kind") == "faq" and any(c.passage == 0 for c in candidates)
        if whole:
            # A FAQ entry ranked first was written to be read whole ("not known here; ask the official
            # channels"): keep all of its answer, then add the best sentences of the other passages.
            chosen = [c for c in candidates if c.passage == 0]
        elif ranked[0].passage == 0:
            chosen = self._in_context(ranked[0], [c for c in candidates if c.passage == 0])
        else:
            chosen = [ranked[0]]
        # The sentences after the best one were read on for their context, unless the question asks for a
        # list (they are the list): a better sentence of the same passage may take the place of the last of
        # them ("Its drawback is computing time", four sentences on, answers "what is the drawback of
        # cross-validation?" better than the third sentence describing the method).
        following = [] if whole or lists else [c for c in chosen[1:] if c.position > chosen[0].position]
        length = sum(len(c.text) for c in chosen)
        taken = {(c.passage, c.position) for c in chosen}
        for candidate in ranked:
            if (candidate.passage, candidate.position) in taken or candidate.score <= KEEP_RATIO * ranked[0].score:
                continue
            said = _said_by(candidate, chosen, self.weights)
            if said is not None:  # said already: its passage is cited on the sentence that says it
                if candidate.passage not in chosen[said].sources:
                    chosen[said] = replace(chosen[said], also=(*chosen[said].also, candidate.passage))
                continue
            while (
                following
                and candidate.passage == following[-1].passage
                and following[-1].score < candidate.score
                and (len(chosen) >= self.max_sentences or length + len(candidate.text) > MAX_ANSWER_CHARS)
            ):
                dropped = following.pop()
                chosen.remove(dropped)
                length -= len(dropped.text)
            if len(chosen) >= self.max_sentences or length + len(candidate.text) > MAX_ANSWER_CHARS:
                continue  # a shorter, slightly weaker sentence may still fit, or repeat one chosen
            chosen.append(candidate)
            taken.add((candidate.passage, candidate.position))
            length += len(candidate.text)
        return _answer_first(chosen)

    def _in_context(self, best: _Candidate, own: list[_Candidate]) -> list[_Candidate]:
        """The best sentence of the best passage with its context, in reading order: the sentence before it
        (it usually names what the best one is about: "Overfitting happens when..." before "An overfitted
        model gets...") and the ones after it (they detail it: the rights, principles or criteria a section
        announces, then lists one sentence each, share few words with the question but are its answer)."""
        at = own.index(best)
        chosen = [best] + [c for c in own[at - 1 : at] if len(best.text) + len(c.text) <= MAX_CONTEXT_CHARS]
        length = sum(len(c.text) for c in chosen)
        for candidate in own[at + 1 :]:
            if len(chosen) >= self.max_sentences or length + len(candidate.text) > MAX_CONTEXT_CHARS:
                break
            chosen.append(candidate)
            length += len(candidate.text)
        return chosen

    def generate(
        self,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn],
        lang: Lang,
        answer_type: AnswerType | None = None,
    ) -> Iterator[str]:
        expected = answer_type or analyse(question, lang).answer_type  # read here when no caller analysed it
        chosen = self.select(question, passages, history, expected == "list")
        if chosen and all(passages[c.passage].lang != lang for c in chosen):
            yield OTHER_LANGUAGE_NOTE[lang]
        for index, candidate in enumerate(chosen):
            cited = " ".join(f"[{n + 1}]" for n in candidate.sources)
            yield ("" if index == 0 else " ") + f"{candidate.text} {cited}"
