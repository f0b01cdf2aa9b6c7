"""What a learner asks the tutor for, in French or English: a quiz, a hint, the answer, the next question, stop.

These are requests about the conversation itself, not questions about the knowledge base, so they are
recognised by their wording (on folded text: no accents, lower case) rather than by retrieval. The patterns
need the learner to address the bot ("interroge-moi", "quiz me"): "Y a-t-il un quiz dans Objectif IA ?" is a
question for the chat, not a request for a quiz.
"""

from __future__ import annotations

import re

from bot.text import fold

_QUIZ_REQUEST = re.compile(
    r"\b(?:(?:interroge|questionne|teste|evalue|entraine|quizz?)(?:[rz])?[- ]moi"
    r"|m'(?:interroger|tester|evaluer|entrainer|questionner)"
    r"|pose[rz]?[- ]moi (?:une|des|quelques|\d+) questions?"
    r"|(?:fais|faites|lance|lancez|donne|donnez|propose|proposez)[- ]moi (?:un|une) (?:quizz?|test|interro|exercice)"
    # "passer un test" / "take a test" without "moi"/"me" is about admission tests, not a request for a quiz
    r"|(?:faire|lancer|commencer|demarrer|passer) (?:un|une|le) (?:quizz?|interro)"
    r"|(?:quiz|test|examine|drill) me|ask me (?:a|some|\w+) questions?"
    r"|(?:start|take|do|run|begin) (?:a|the) quiz|give me a (?:quiz|test))\b"
)
_TOPIC_MARK = re.compile(r"\b(?:sur|about|on|en|concernant|regarding)\b\s+(.*)$")
_STOP = re.compile(
    r"^\W*(?:stop|arrete[rz]?|on arrete|quitter?|fin(?: du quiz)?|terminer?|c'?est fini|ca suffit|"
    r"retour (?:au|a la) (?:chat|discussion)|back to (?:the )?chat|exit|quit|end(?: the)? quiz|"
    r"enough|no more)\b"
)
_NEXT = re.compile(
    r"^\W*(?:(?:question )?suivante|une autre|encore|oui|ok|d'accord|vas-y|continue[rz]?|"
    r"next(?: question)?|another(?: one)?|yes|go on|more)\W*(?:\w+\W*){0,3}$"
)
_REVEAL = re.compile(
    r"(?:(?:donne|dis|montre|donnez|dites|montrez)[- ]moi la (?:bonne )?reponse|"
    r"je donne ma langue au chat|j'abandonne|^\W*(?:la )?(?:reponse|solution)\W*$|"
    r"(?:show|tell|give) me the (?:answer|solution)|what is the answer|i give up|reveal)"
)
_HINT = re.compile(
    r"^\W*(?:(?:un |une autre |another |a )?(?:indice|hint|aide|help|clue)|aide-moi|help me|"
    r"je seche|i'?m stuck)\W*(?:\w+\W*){0,3}$"
)


def quiz_topic(message: str) -> str | None:
    """``None`` when the message is not a request for a quiz; else what it should be about ("" for any)."""
    folded = fold(message)
    found = _QUIZ_REQUEST.search(folded)
    if not found:
        return None
    rest = folded[found.end() :]
    topic = _TOPIC_MARK.search(rest)
    return (topic.group(1) if topic else rest).strip(" ?!.") if rest.strip(" ?!.") else ""


def wants_stop(message: str) -> bool:
    return bool(_STOP.match(fold(message)))


def wants_next(message: str) -> bool:
    return bool(_NEXT.match(fold(message)))


def wants_answer(message: str) -> bool:
    return bool(_REVEAL.search(fold(message)))


def wants_hint(message: str) -> bool:
    return bool(_HINT.match(fold(message)))
