"""What a follow-up is about: the subject and the programme the conversation established, for searching a
message that cannot be searched on its own.

"et ça dure combien de temps ?" after "Comment se passe l'admission ?" is about the École de la data et de l'IA
although neither message names it: the bot's answer did. So a follow-up is searched together with the user's
questions since the last one that stood on its own (the subject, even two turns back), and with the programme
the latest turns name, the user's or the bot's (passages of that programme are preferred by
``bot.answering.retrieval``). A message that names a programme itself switches the topic: the earlier
programme is dropped, its name taken out of the earlier questions ("et pour Objectif IA ?" after a question
on the École's duration asks for Objectif IA's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.answering.analysis import goes_on, opens_new_subject, refers_back
from bot.schema import Turn
from bot.text import content_words

# A message with few content words of its own ("et ça dure combien de temps ?") is a follow-up; one with more
# is searched as it is.
FOLLOW_UP_MAX_CONTENT_WORDS = 3
# Earlier questions searched with a follow-up, at most: a long chain of follow-ups drifts from its subject.
CONTEXT_MAX_QUESTIONS = 3


@dataclass(frozen=True)
class Programme:
    """A programme of the knowledge base (its ``programme`` metadata), as people and the bot name it."""

    id: str
    name: str
    names: re.Pattern[str]


_APOSTROPHE = r"['’]\s*"
PROGRAMMES = (
    Programme(
        "ecole-data-ia",
        "École de la data et de l'IA",
        re.compile(
            rf"[ée]cole\s+(?:de\s+la\s+)?data(?:\s+et\s+de\s+l{_APOSTROPHE}\s*ia)?|"
            rf"[ée]cole\s+(?:du\s+groupe\s+)?(?:de\s+)?la\s+poste|la\s+poste{_APOSTROPHE}s\s+(?:data\s+)?school|"
            r"\bdata\s+(?:ia\s+)?school|\bdata\s+(?:et\s+|&\s+|and\s+)?ia\s+(?:school|programme|program)",
            re.IGNORECASE,
        ),
    ),
    Programme("objectif-ia", "Objectif IA", re.compile(r"\bobjectif\s+ia\b|\bcaf[ée]\s+ia\b", re.IGNORECASE)),
)


@dataclass(frozen=True)
class Topic:
    """What a follow-up is searched with: ``context``, the earlier questions (plus the programme's name when
    they do not say it), and ``programme``, the id of the programme the conversation is about, if any."""

    context: str
    programme: str | None


def programmes_named(text: str) -> set[str]:
    """Ids of the programmes ``text`` names."""
    return {p.id for p in PROGRAMMES if p.names.search(text)}


@dataclass(frozen=True)
class Naming:
    """The programme a question names, and the words that name it ("l'école de La Poste")."""

    programme: str
    words: tuple[str, ...]


def _names(text: str) -> list[tuple[str, str]]:
    """Each name of a programme in ``text``: the programme's id and the words, as written."""
    return [(p.id, m.group(0)) for p in PROGRAMMES for m in p.names.finditer(text)]


def namings_in(texts: Iterable[str]) -> set[str]:
    """The words naming a programme in these texts, as written ("École de la data", "ecole data ia")."""
    return {words for text in texts for _, words in _names(text)}


def programme_asked(text: str) -> Naming | None:
    """The programme ``text`` names, when it names exactly one."""
    named = _names(text)
    if len({programme for programme, _ in named}) != 1:
        return None
    return Naming(named[0][0], tuple(words for _, words in named))


def is_follow_up(message: str) -> bool:
    short = len(content_words(message)) <= FOLLOW_UP_MAX_CONTENT_WORDS
    return (short and not opens_new_subject(message)) or refers_back(message) or goes_on(message)


def _latest_programme(turns: Sequence[Turn]) -> str | None:
    """The programme of the latest turn that names exactly one (a refusal listing every programme says
    nothing of the topic)."""
    for turn in reversed(turns):
        named = programmes_named(turn.content)
        if len(named) == 1:
            return named.pop()
    return None


def _without_programmes(text: str, kept: str | None) -> str:
    for programme in PROGRAMMES:
        if programme.id != kept:
            text = programme.names.sub(" ", text)
    return " ".join(text.split())


def conversation_topic(message: str, history: Sequence[Turn]) -> Topic | None:
    """The topic ``message`` is a follow-up of, or ``None`` when it stands alone (or nothing came before)."""
    asked = [i for i, turn in enumerate(history) if turn.role == "user"]
    if not asked or not is_follow_up(message):
        return None
    # The subject was set by the latest question that stood alone or named a programme.
    start = next(
        (i for i in reversed(asked) if not is_follow_up(history[i].content) or programmes_named(history[i].content)),
        asked[0],
    )
    questions = [history[i].content for i in asked if i >= start][-CONTEXT_MAX_QUESTIONS:]
    named = programmes_named(message)
    programme = (named.pop() if len(named) == 1 else None) if named else _latest_programme(history[start:])
    context = _without_programmes(" ".join(questions), programme)
    if programme and programme not in programmes_named(context):
        context = f"{next(p.name for p in PROGRAMMES if p.id == programme)} : {context}"
    return Topic(context, programme)
