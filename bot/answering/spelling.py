"""Misspelt and SMS-style questions: a character-level FAQ match and a conservative normaliser.

Why: candidates write "c kan la 1ere promo de lecol" or "ki fait lé cour a lecol de la data". The sentence
embedding copes with a light typo, not with SMS spelling, so such questions are refused or matched to an
unrelated passage. Two cheap signals help, and the chat pipeline decides how to use them:

* ``CharFaqMatcher``: TF-IDF over character n-grams of every FAQ phrasing (accent-folded, lower case).
  "lecol" and "l'école", "diferance" and "différence" share most of their n-grams, whatever the spelling.
* ``normalise``: an SMS/abbreviation lexicon for French and English ("koi" -> "quoi", "u" -> "you"), then,
  when the knowledge base's vocabulary is given and the question looks misspelt, a correction of the words
  the vocabulary lacks ("formassion" -> "formation", "lecol" -> "l'ecole"). Its output is embedded a second
  time when the first embedding matches poorly, so it must never damage a well-written question: a
  well-spelt sentence comes back unchanged, character for character. Hence the guards below: an entry of
  the lexicon that is also a real word ("c", "k", "r", "é") is replaced only in a context that rules the
  real word out, a word next to a symbol or a digit ("c++", "k-means", "10 mm") is never touched, a
  capitalised word inside a sentence (a name) is never corrected, and words are corrected only in a
  question that already looks misspelt (a well-written question with one rare word keeps it).

Corrected words come out folded (no accents: the vocabulary is folded); the embedding does not mind.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.text import fold, words

# --- The character-level FAQ match ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrasing:
    source_id: str  # FAQ entry id
    lang: str  # "fr" | "en"
    text: str


class _LangIndex:
    """One language's phrasings as L2-normalised TF-IDF rows, and the FAQ entry of each row.

    A question is vectorised by hand (the vectorizer's analyzer, vocabulary and IDF; the same vector as
    ``transform``), about ten times faster than ``transform`` on one short text."""

    def __init__(self, phrasings: Sequence[Phrasing]) -> None:
        self.ids = sorted({p.source_id for p in phrasings})
        position = {source_id: i for i, source_id in enumerate(self.ids)}
        self.entry_of_row = np.array([position[p.source_id] for p in phrasings], dtype=np.intp)
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=False)
        self.matrix = self.vectorizer.fit_transform([fold(p.text) for p in phrasings]).tocsr()
        self._analyse = self.vectorizer.build_analyzer()
        self._column: dict[str, int] = self.vectorizer.vocabulary_
        self._idf: np.ndarray = self.vectorizer.idf_

    def vector(self, question: str) -> np.ndarray:
        counts = Counter(c for gram in self._analyse(fold(question)) if (c := self._column.get(gram)) is not None)
        vector = np.zeros(len(self._idf))
        if counts:
            columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=float, count=len(counts))
            vector[columns] = (1.0 + np.log(tf)) * self._idf[columns]
            vector /= np.linalg.norm(vector)
        return vector

    def best(self, question: str, k: int) -> list[tuple[str, float]]:
        cosines = self.matrix @ self.vector(question)
        per_entry = np.zeros(len(self.ids))
        np.maximum.at(per_entry, self.entry_of_row, cosines)
        order = np.argsort(-per_entry, kind="stable")[:k]
        return [(self.ids[i], float(per_entry[i])) for i in order]


class CharFaqMatcher:
    """Built once from the FAQ phrasings (question and alternates of every entry, in both languages)."""

    def __init__(self, phrasings: Sequence[Phrasing]) -> None:
        by_lang: dict[str, list[Phrasing]] = {}
        for phrasing in phrasings:
            if fold(phrasing.text):
                by_lang.setdefault(phrasing.lang, []).append(phrasing)
        self._indexes = {lang: _LangIndex(group) for lang, group in by_lang.items()}

    def best(self, question: str, lang: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` entries of that language closest to the question, best first: (source_id, cosine), the
        cosine of the entry's closest phrasing. Empty when the language has no phrasing or ``k`` < 1."""
        index = self._indexes.get(lang)
        if index is None or k < 1:
            return []
        return index.best(question, k)


# --- Tokens -----------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+")
_OPENING = '([{«"“‘'
_CLOSING = ',;:!?.)]}»"”’…'
_JOINERS = "'’-"
_SENTENCE_END = ".!?…"


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int
    lower: str
    free: bool  # alone between spaces, give or take punctuation: not in "c'est", "c++", "k-means", "u.s."
    wordy: bool  # in a run of letters, apostrophes and hyphens only: not in a URL, an e-mail, "b4", "x_2"
    initial: bool  # first word of the text or of a sentence

    @property
    def folded(self) -> str:
        return fold(self.text)

    def may_rewrite(self) -> bool:
        """Lower case, or capitalised as the first word of a sentence (a phone capitalises it)."""
        if self.text == self.lower:
            return True
        return self.initial and self.text[0].isupper() and self.text[1:] == self.lower[1:]


def _chunk_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = start
    while left > 0 and not text[left - 1].isspace():
        left -= 1
    right = end
    while right < len(text) and not text[right].isspace():
        right += 1
    return left, right


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    previous_end = 0
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        left, right = _chunk_bounds(text, start, end)
        before, after = text[left:start], text[end:right]
        free = all(c in _OPENING for c in before) and all(c in _CLOSING for c in after)
        chunk = text[left:right].strip(_OPENING + _CLOSING)
        wordy = all(c.isalpha() or c in _JOINERS for c in chunk)
        gap = text[previous_end:start]
        initial = not tokens or any(c in _SENTENCE_END for c in gap)
        tokens.append(_Token(match.group(), start, end, match.group().lower(), free, wordy, initial))
        previous_end = end
    return tokens


def _adjacent(text: str, first: _Token, second: _Token) -> bool:
    """The two tokens are separated by spaces only (no comma, no apostrophe)."""
    gap = text[first.end : second.start]
    return bool(gap) and gap.isspace()


@dataclass(frozen=True)
class _Context:
    previous: str | None  # the previous word, lower case, when only spaces separate it from this one
    next: str | None

    @staticmethod
    def of(text: str, tokens: list[_Token], i: int) -> _Context:
        previous = tokens[i - 1].lower if i > 0 and _adjacent(text, tokens[i - 1], tokens[i]) else None
        following = tokens[i + 1].lower if i + 1 < len(tokens) and _adjacent(text, tokens[i], tokens[i + 1]) else None
        return _Context(previous, following)


# --- The SMS lexicon -----------------------------------------------------------------------------------------

_FR_SMS = {
    "cest": "c'est",
    "cé": "c'est",
    "ct": "c'était",
    "cetait": "c'était",
    "koi": "quoi",
    "kwa": "quoi",
    "koa": "quoi",
    "quoa": "quoi",
    "kan": "quand",
    "kand": "quand",
    "qd": "quand",
    "ki": "qui",
    "kil": "qu'il",
    "kils": "qu'ils",
    "ke": "que",
    "kel": "quel",
    "kels": "quels",
    "kelle": "quelle",
    "kell": "quelle",
    "kelles": "quelles",
    "keske": "qu'est-ce que",
    "kesk": "qu'est-ce que",
    "ske": "ce que",
    "cb": "combien",
    "cbn": "combien",
    "cmb": "combien",
    "combi1": "combien",
    "cmt": "comment",
    "cmnt": "comment",
    "koman": "comment",
    "komen": "comment",
    "koment": "comment",
    "komment": "comment",
    "kom": "comme",
    "kome": "comme",
    "tps": "temps",
    "pr": "pour",
    "ds": "dans",
    "bcp": "beaucoup",
    "bocoup": "beaucoup",
    "tt": "tout",
    "tte": "toute",
    "ts": "tous",
    "ttes": "toutes",
    "jsp": "je ne sais pas",
    "jsais": "je sais",
    "jsé": "je sais",
    "chais": "je sais",
    "chui": "je suis",
    "chuis": "je suis",
    "jsuis": "je suis",
    "jpeux": "je peux",
    "jveux": "je veux",
    "jvais": "je vais",
    "jdois": "je dois",
    "jpense": "je pense",
    "jcrois": "je crois",
    "jconnais": "je connais",
    "jcomprends": "je comprends",
    "jcomprend": "je comprends",
    "jai": "j'ai",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "pkoi": "pourquoi",
    "pourkoi": "pourquoi",
    "prkoi": "pourquoi",
    "pcq": "parce que",
    "pck": "parce que",
    "psk": "parce que",
    "paske": "parce que",
    "slt": "salut",
    "bjr": "bonjour",
    "bsr": "bonsoir",
    "stp": "s'il te plaît",
    "svp": "s'il vous plaît",
    "lé": "les",
    "dé": "des",
    "fé": "fait",
    "1ere": "première",
    "1ère": "première",
    "2eme": "deuxième",
    "2ème": "deuxième",
    "3eme": "troisième",
    "3ème": "troisième",
    "dc": "donc",
    "tjs": "toujours",
    "tjrs": "toujours",
    "jms": "jamais",
    "qqn": "quelqu'un",
    "qqun": "quelqu'un",
    "qqch": "quelque chose",
    "qqc": "quelque chose",
    "qqs": "quelques",
    "mtn": "maintenant",
    "mnt": "maintenant",
    "pa": "pas",
    "nn": "non",
    "dac": "d'accord",
    "dak": "d'accord",
    "pb": "problème",
    "pblm": "problème",
    "pbm": "problème",
    "auj": "aujourd'hui",
    "ajd": "aujourd'hui",
    "aujd": "aujourd'hui",
    "cad": "c'est-à-dire",
    "càd": "c'est-à-dire",
    "ac": "avec",
    "avc": "avec",
    "ns": "nous",
    "bi1": "bien",
    "ri1": "rien",
    "dsl": "désolé",
    "ptet": "peut-être",
    "ptetre": "peut-être",
    "oci": "aussi",
    "ossi": "aussi",
    "fo": "faut",
    "vrmt": "vraiment",
    "tro": "trop",
    "mwa": "moi",
    "twa": "toi",
    "diff": "différence",
    "msg": "message",
}

_EN_SMS = {
    "ur": "your",
    "yu": "you",
    "ya": "you",
    "pls": "please",
    "plz": "please",
    "plse": "please",
    "thx": "thanks",
    "thnx": "thanks",
    "thanx": "thanks",
    "thks": "thanks",
    "tnx": "thanks",
    "ty": "thank you",
    "tho": "though",
    "altho": "although",
    "thru": "through",
    "wat": "what",
    "wut": "what",
    "wot": "what",
    "wht": "what",
    "whut": "what",
    "hw": "how",
    "hows": "how's",
    "whats": "what's",
    "wats": "what's",
    "wheres": "where's",
    "whos": "who's",
    "cuz": "because",
    "coz": "because",
    "bc": "because",
    "bcoz": "because",
    "bcuz": "because",
    "becuz": "because",
    "becoz": "because",
    "b4": "before",
    "2day": "today",
    "2morrow": "tomorrow",
    "2moro": "tomorrow",
    "tmrw": "tomorrow",
    "gr8": "great",
    "l8r": "later",
    "w8": "wait",
    "idk": "I don't know",
    "imo": "in my opinion",
    "imho": "in my humble opinion",
    "btw": "by the way",
    "rn": "right now",
    "abt": "about",
    "ppl": "people",
    "smth": "something",
    "sth": "something",
    "sm1": "someone",
    "some1": "someone",
    "any1": "anyone",
    "every1": "everyone",
    "no1": "no one",
    "msg": "message",
    "yr": "year",
    "yrs": "years",
    "hrs": "hours",
    "wk": "week",
    "wks": "weeks",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "got to",
    "kinda": "kind of",
    "sorta": "sort of",
    "dunno": "don't know",
    "lemme": "let me",
    "gimme": "give me",
    "teh": "the",
    "dat": "that",
    "wen": "when",
    "wer": "where",
    "whr": "where",
    "shud": "should",
    "wud": "would",
    "cud": "could",
    "gud": "good",
    "nvm": "never mind",
    "prolly": "probably",
    "probs": "probably",
    "diff": "difference",
    "dont": "don't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "cant": "can't",
    "wont": "won't",
    "isnt": "isn't",
    "arent": "aren't",
    "wasnt": "wasn't",
    "werent": "weren't",
    "shouldnt": "shouldn't",
    "wouldnt": "wouldn't",
    "couldnt": "couldn't",
    "havent": "haven't",
    "hasnt": "hasn't",
    "im": "I'm",
    "ive": "I've",
    "youre": "you're",
    "theyre": "they're",
    "thats": "that's",
    "theres": "there's",
}

_SMS: dict[str, dict[str, str]] = {"fr": _FR_SMS, "en": _EN_SMS}

# Words after which a lone letter is the letter itself ("le langage C", "les k plus proches voisins", "10 g").
_LETTER_GUARD = set(
    """le la les l un une du de des d en au aux lettre langage vitamine type point plan classe groupe niveau
    note option colonne variable parametre valeur top the a an letter language vitamin variable value of
    and et ou or""".split()
)
# "k" is "que" only before these ("est ce k je peux", "faut k l'ia"), not in "choisir k dans k-means".
_K_NEXT = set("je j tu t il elle on nous vous ils elles l la le les c ca ça ce cette ki qui si mon ma mes".split())
_EST_FORMS = {"est", "etait", "était", "ete", "été"}
# "é" is "est" after these or before these, "et" otherwise.
_EST_BEFORE = set("quel quelle quels quelles kel kelle qui ki ou où il elle on ce ca ça c sa".split())
_EST_AFTER = set(
    """le la les l un une ce cette ca ça quoi koi ou où qui ki quand kan comment combien cmb possible gratuit
    payant obligatoire vrai bien pas ouvert ouverte long longue dur difficile facile""".split()
)
# "lia é dangereuse": before a word with an adjective's or a participle's ending, "é" is "est".
_ADJECTIVE_ENDINGS = tuple("eux euse if ive able ible ique aire ant ante é ée és ées".split())
_ELIDABLE = {"c", "d", "j", "l", "m", "n", "s", "t", "qu"}
_VOWELS = "aeiouyhàâäéèêëîïôöùûü"
_WH_EN = set("what wat wut how hw who where when why y which u you we they there these those ur".split())
_WHY_NEXT = set("do does did would should r u not dont doesnt cant are arent isnt".split())
# "4" is "for" and "2" is "to" only before these ("fees 4 the school", "how 2 apply"), never before a noun.
_FOR_NEXT = set("the a an me u you my your ur us him her them this that it free".split())
_TO_NEXT = set("the a an me u you my your ur us him her them this that it do be get go learn apply join".split())


def _after_letter_guard(context: _Context) -> bool:
    previous = context.previous
    return previous is not None and (previous in _LETTER_GUARD or previous.isdigit())


def _fr_c(token: _Token, context: _Context) -> str | None:
    if context.next is None or _after_letter_guard(context) or context.next in _EST_FORMS:
        return None  # "c est" is joined by the elision rule
    return "c'est"


def _fr_k(token: _Token, context: _Context) -> str | None:
    if _after_letter_guard(context) or context.next not in _K_NEXT:
        return None
    return "que"


def _fr_e(token: _Token, context: _Context) -> str | None:
    """ "é" (or a bare "e") is "est" in "kel é la durée" and "c é gratuit", "et" between two other words
    ("ia é data"); a bare "e" only where it is clearly "est"."""
    if context.next is None or _after_letter_guard(context):
        return None
    if context.previous in _EST_BEFORE or context.next in _EST_AFTER or context.next.endswith(_ADJECTIVE_ENDINGS):
        return "est"
    return "et" if context.previous is not None and token.lower != "e" else None


def _fr_g(token: _Token, context: _Context) -> str | None:
    if context.next is None or _after_letter_guard(context):
        return None
    return "j'ai"


def _fr_mm(token: _Token, context: _Context) -> str | None:
    return None if _after_letter_guard(context) else "même"


def _fr_ya(token: _Token, context: _Context) -> str | None:
    return "y a" if context.previous == "il" else "il y a"


def _en_u(token: _Token, context: _Context) -> str | None:
    return None if _after_letter_guard(context) else "you"


def _en_r(token: _Token, context: _Context) -> str | None:
    if context.previous in _WH_EN or context.next in {"u", "you", "we", "they", "there", "the", "these", "those"}:
        return "are"
    return None


def _en_y(token: _Token, context: _Context) -> str | None:
    return "why" if token.initial and context.next in _WHY_NEXT else None


def _en_for(token: _Token, context: _Context) -> str | None:
    return "for" if context.previous is not None and context.next in _FOR_NEXT else None


def _en_to(token: _Token, context: _Context) -> str | None:
    return "to" if context.previous is not None and context.next in _TO_NEXT else None


_Rule = Callable[[_Token, _Context], str | None]
_RULES: dict[str, dict[str, _Rule]] = {
    "fr": {"c": _fr_c, "k": _fr_k, "é": _fr_e, "è": _fr_e, "e": _fr_e, "g": _fr_g, "mm": _fr_mm, "ya": _fr_ya},
    "en": {"u": _en_u, "r": _en_r, "y": _en_y, "4": _en_for, "2": _en_to},
}


def _elision(token: _Token, context: _Context) -> str | None:
    """French "l ia", "j ai", "c est": a lone elidable letter before a word starting with a vowel or "h"."""
    if token.lower not in _ELIDABLE or context.next is None or _after_letter_guard(context):
        return None
    nxt = context.next
    if nxt in {"et", "ou", "y"} or not fold(nxt).startswith(tuple(_VOWELS)):
        return None
    if token.lower == "c" and nxt not in _EST_FORMS:
        return None
    return token.text + "'"


def _sms_edits(text: str, lang: str) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for every word the lexicon rewrites; an elision also takes the spaces up to
    the next word ("l ia" -> "l'ia")."""
    lexicon, rules = _SMS.get(lang, {}), _RULES.get(lang, {})
    tokens = _tokenise(text)
    edits: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens):
        if not token.free or not token.may_rewrite():
            continue
        context = _Context.of(text, tokens, i)
        elided = _elision(token, context) if lang == "fr" else None
        if elided is not None:
            edits.append((token.start, tokens[i + 1].start, elided))
            continue
        replacement = _lexicon_entry(token, context, lexicon, rules)
        if replacement is not None:
            edits.append((token.start, token.end, _same_case(token.text, replacement)))
    return edits


def _lexicon_entry(token: _Token, context: _Context, lexicon: dict[str, str], rules: dict[str, _Rule]) -> str | None:
    """The token's expansion: a rule's, which reads the context, or the lexicon's, unless the token follows a
    number (a unit: "10 ns", "5 g")."""
    for key in (token.lower, token.folded):
        if key in rules:
            return rules[key](token, context)
        if key in lexicon:
            return None if context.previous is not None and context.previous.isdigit() else lexicon[key]
    return None


def _same_case(original: str, replacement: str) -> str:
    return replacement[0].upper() + replacement[1:] if original[0].isupper() else replacement


_Y_APOSTROPHE_A = re.compile(r"(?<![\w'’])(?:(il)\s+)?y['’]a(?![\w'’-])", re.IGNORECASE)
_WITH_SLASH = re.compile(r"(?<!\S)w/(o)?(?=\s|$)", re.IGNORECASE)


def _phrases(text: str, lang: str) -> str:
    """The SMS forms that are not one word: French "y'a", English "w/" and "w/o"."""
    if lang == "fr":
        return _Y_APOSTROPHE_A.sub(lambda m: _same_case(m.group(), f"{m.group(1) or 'il'} y a"), text)
    if lang == "en":
        return _WITH_SLASH.sub(lambda m: "without" if m.group(1) else "with", text)
    return text


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    pieces: list[str] = []
    position = 0
    for start, end, new in sorted(edits):
        if start < position:
            continue
        pieces.append(text[position:start])
        pieces.append(new)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _expand_sms(text: str, lang: str) -> str:
    text = _phrases(text, lang)
    return _apply(text, _sms_edits(text, lang))


# --- Words the normaliser knows without the knowledge base -------------------------------------------------

# Frequent words a question may use that a knowledge base about training programmes may never write: known,
# so never "corrected" ("fils" is not "files", "pouvez" not "pouvez-vous"'s misspelling).
_COMMON = frozenset(
    fold(word)
    for word in """a à ai ainsi alors apres après au aucun aussi autre aux avant avec avoir bien bon bonjour ca ça
    car ce cela celle celui ces cet cette chaque chez ci comme comment combien dans de des deux dire dit doit donc
    dont du elle elles en encore entre est et etait était ete été etre être eu faire fait faut fois hors ici il
    ils je jusqu la le les leur leurs lui ma mais me meme même merci mes moi moins mon ne ni non nos notre nous on
    ont ou où par parce pas peu peut peux plus pour pourquoi puis quand que quel quelle quelles quels qui quoi
    sa sans se ses si son sont sous suis sur ta te tes toi ton tous tout toute toutes tres très tu un une vos
    votre vous veux voudrais vraiment y oui salut
    pouvez pouvons peuvent pourrais pourriez pourrait voulez voulons veulent voudrait savez savons sait sais
    savoir connais connaissez faites fais font allez vais vont va avez avons aviez sommes êtes etes serait
    seraient sera serai seront fera ferai feront aura aurai auront devez devons dois doivent devrais devrait
    faudrait signifie signifient veut vouloir expliquer explique expliquez expliques aider aide aidez dites dis
    demande demander besoin aimerais voudrions penses pensez trouve trouver cherche chercher
    fils fille filles enfant enfants mari femme homme parents ami amie amis famille travail métier
    lundi mardi mercredi jeudi vendredi samedi dimanche janvier février mars avril mai juin juillet août
    septembre octobre novembre décembre hier demain aujourd hui matin soir semaine mois année an ans heure
    heures minute minutes jour jours
    un deux trois quatre cinq six sept huit neuf dix vingt cent mille premier première deuxième dernier
    dernière grand grande petit petite nouveau nouvelle vrai faux facile difficile possible gratuit gratuite
    a an and are as at be been but by can could did do does for from had has have he her here him his how i if
    in into is it its just me my no not of on or our she so some than that the their them then there these
    they this those to too us was we were what when where which who why will with would you your yes hello
    hi thanks thank please
    am get got give gave go goes going went know knew want wanted need needs mean means say said tell explain
    help find think see look make made take took use used like should shall may might must let
    son daughter children child husband wife friend friends family job work
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december yesterday today tomorrow morning evening week month year years hour
    hours minute minutes day days
    one two three four five six seven eight nine ten hundred thousand first second last big small new true
    false easy hard possible free
    promo promos prof profs bac info infos perso ordi boite boulot taf truc trucs exam exams certif dispo appli
    cool super ok okay""".split()
)


_RULE_OUTPUTS = ["c'est", "que", "est", "et", "j'ai", "même", "il y a", "you", "are", "why", "for", "to"]
_LEXICON_OUTPUTS = frozenset(
    word for text in [*_FR_SMS.values(), *_EN_SMS.values(), *_RULE_OUTPUTS] for word in words(text)
)


# --- Correcting words against the knowledge base's vocabulary --------------------------------------------

_MIN_FUZZY_LENGTH = 5  # shorter words have too many neighbours: a four-letter one only gains a last letter
_MIN_ROOT = 4
_EDIT_CUTOFF = 0.75  # a candidate one edit away, or two (one each side of a deletion)
_SOUND_CUTOFF = 0.6  # a candidate that sounds the same in French ("durai"/"duree", "formassion"/"formation")
_INFLECTIONS = tuple(
    sorted(
        "s x e es er ee ees ez ent ons ont ais ait aient ai a ra ras rai ront rons rez rait raient ing ed ly".split(),
        key=len,
        reverse=True,
    )
)
# The short words a French elision may glue ("lia" is "l'ia"; "cour" is not "c'our", "lit" is not "l'it").
_SHORT_ELIDED = set("ia il ils on en un une est ai as a age an ans art api ue ont eu ete eux elle ou ici".split())

_SOUND_RULES = [
    (re.compile(p), r)
    for p, r in [
        (r"ph", "f"),
        (r"[cs]h", "S"),
        (r"gu(?=[eiy])", "g"),
        (r"g(?=[eiy])", "j"),
        (r"qu?", "k"),
        (r"c(?=[eiy])", "s"),
        (r"ck|c", "k"),
        (r"tion", "sion"),
        (r"z", "s"),
        (r"eau|au", "o"),
        (r"ou", "U"),
        (r"ai|ei|e[rtz]$", "e"),
        (r"[ae][nm](?![aeiouy]|$)|[ae]n$", "A"),
        (r"[aeiu][nm](?![aeiouy]|$)|[iu]n$", "I"),
        (r"o[nm](?![aeiouy]|$)|on$", "O"),
        (r"y", "i"),
        (r"h", ""),
        (r"(.)\1+", r"\1"),
        (r"(?<=.)[stdxp]+$", ""),
        (r"(?<=..)e$", ""),
    ]
]


def _sound(word: str) -> str:
    """A rough French phonetic key: words that sound alike share it ("formassion", "formation")."""
    for pattern, replacement in _SOUND_RULES:
        word = pattern.sub(replacement, word)
    return word


def _roots(word: str) -> set[str]:
    """The word without one inflection ending, at least four letters left: "couteront" -> "coute"."""
    return {word[: -len(e)] for e in _INFLECTIONS if word.endswith(e) and len(word) - len(e) >= _MIN_ROOT}


@dataclass(frozen=True)
class _VocabularyIndex:
    words: frozenset[str]
    by_deletion: dict[str, tuple[str, ...]]  # a word, and each word less one letter -> words
    by_sound: dict[str, tuple[str, ...]]
    roots: frozenset[str]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@lru_cache(maxsize=4)
def _index(vocabulary: frozenset[str]) -> _VocabularyIndex:
    """Precomputed once per vocabulary (a frozenset keeps its hash): lookups cost a few dict accesses."""
    by_deletion: dict[str, set[str]] = {}
    by_sound: dict[str, set[str]] = {}
    roots: set[str] = set()
    for word in vocabulary:
        if len(word) < _MIN_ROOT or not word.isalpha():
            continue
        for key in {word} | _deletions(word):
            by_deletion.setdefault(key, set()).add(word)
        by_sound.setdefault(_sound(word), set()).add(word)
        roots.update(_roots(word) | {word})
    return _VocabularyIndex(
        vocabulary | _COMMON | _LEXICON_OUTPUTS,
        {k: tuple(sorted(v)) for k, v in by_deletion.items()},
        {k: tuple(sorted(v)) for k, v in by_sound.items()},
        frozenset(roots),
    )


def _known(word: str, index: _VocabularyIndex) -> bool:
    """In the vocabulary, or an inflection of one of its words ("couteront" when "couter" is)."""
    return word in index.words or bool(_roots(word) & index.roots)


def _candidates(word: str, index: _VocabularyIndex, lang: str) -> dict[str, float]:
    """Vocabulary words one edit away (or two: one each side of a deletion), and in French the words that
    sound the same, each with the similarity it needs."""
    if len(word) < _MIN_FUZZY_LENGTH:
        if len(word) < _MIN_ROOT:
            return {}
        return {c: _EDIT_CUTOFF for c in index.by_deletion.get(word, ()) if c[:-1] == word}  # "cour" -> "cours"
    # Typos rarely touch the first letter, and a candidate that changes it is most often another real word
    # ("sound"/"round", "cleaning"/"learning"): edits keep it.
    keys = {word} | _deletions(word)
    candidates = {c: _EDIT_CUTOFF for key in keys for c in index.by_deletion.get(key, ()) if c[0] == word[0]}
    if lang == "fr":
        for candidate in index.by_sound.get(_sound(word), ()):
            candidates.setdefault(candidate, _SOUND_CUTOFF)
    return candidates


def _closest(word: str, index: _VocabularyIndex, lang: str) -> tuple[str, float] | None:
    """The vocabulary word closest to ``word`` and its similarity, when close enough; ties go to the word
    with the same first letter, then the closest length, then the first in alphabetical order."""
    best: tuple[float, float, int, str] | None = None
    for candidate, cutoff in _candidates(word, index, lang).items():
        ratio = difflib.SequenceMatcher(None, word, candidate).ratio()
        if ratio < cutoff:
            continue
        key = (ratio + 0.05 * (candidate[0] == word[0]), ratio, -abs(len(candidate) - len(word)), candidate)
        if best is None or key[:3] > best[:3] or (key[:3] == best[:3] and candidate < best[3]):
            best = key
    return None if best is None else (best[3], best[1])


def _unglued(word: str, index: _VocabularyIndex) -> tuple[str, float] | None:
    """A glued French elision: "lecole" -> "l'ecole", "lecol" -> "l'ecole" (the rest corrected)."""
    prefix = "qu" if word.startswith("qu") else word[:1]
    rest = word[len(prefix) :]
    if prefix not in _ELIDABLE or len(rest) < 2 or not rest.startswith(tuple(_VOWELS)):
        return None
    if len(rest) < _MIN_ROOT:
        return (f"{prefix}'{rest}", 1.0) if rest in _SHORT_ELIDED else None
    if rest in index.words:
        return f"{prefix}'{rest}", 1.0
    closest = _closest(rest, index, "fr")
    if closest is None or closest[0][0] != rest[0]:
        return None
    return f"{prefix}'{closest[0]}", closest[1]


def _correction(word: str, index: _VocabularyIndex, lang: str) -> str | None:
    """The better of the closest word and, in French, the glued elision split; the split wins a tie:
    "lecol" is "l'ecole" rather than "ecole"."""
    if _known(word, index):
        return None
    options = [_unglued(word, index) if lang == "fr" else None, _closest(word, index, lang)]
    found = [option for option in options if option is not None]
    return max(found, key=lambda option: option[1])[0] if found else None


def _correctable(token: _Token) -> bool:
    return token.wordy and token.text.isalpha() and token.may_rewrite()


def correct_words(text: str, vocabulary: frozenset[str], lang: str = "fr") -> str:
    """Each word the vocabulary lacks replaced by its closest vocabulary word when close enough (by spelling,
    or by sound in French), and a glued French elision split ("lecole" -> "l'ecole"). Kept: a capitalised word
    inside a sentence (a name), a word with a digit or in a URL, an inflection of a known word ("codera" when
    "coder" is known); a word of four letters only gains a last one ("cour" -> "cours"), a shorter one nothing.
    Applied alone it corrects any unknown word; ``normalise`` calls it only on a question that looks misspelt."""
    index = _index(vocabulary)
    edits: list[tuple[int, int, str]] = []
    for token in _tokenise(text):
        if not _correctable(token):
            continue
        corrected = _correction(token.folded, index, lang)
        if corrected is not None:
            edits.append((token.start, token.end, _same_case(token.text, corrected)))
    return _apply(text, edits)


# --- The public entry points -------------------------------------------------------------------------------

_MISSPELT_SHARE = 0.25
_UNKNOWN_SHARE = 0.5


def vocabulary_of(texts: Iterable[str]) -> frozenset[str]:
    """The folded words of the knowledge base (build it from well-written text: pages, FAQ questions and
    answers; an SMS alternate would make its misspellings "known")."""
    return frozenset(word for text in texts for word in words(text))


@dataclass(frozen=True)
class _Signals:
    sms: int  # words (and phrases: "y'a", "w/") the lexicon rewrites
    unknown: int  # words neither the vocabulary nor the lexicon knows
    counted: int  # words counted: names (capitalised inside a sentence), numbers and symbols are not

    @property
    def misspelt_share(self) -> float:
        """An unknown word weighs half an SMS form: it may be a rare word spelt right."""
        return (self.sms + self.unknown / 2) / self.counted if self.counted else 0.0


def _signals(text: str, lang: str, index: _VocabularyIndex) -> _Signals:
    phrased = _phrases(text, lang)
    rewritten = {start for start, _, _ in _sms_edits(phrased, lang)}
    sms = int(phrased != text)
    unknown = counted = 0
    for token in _tokenise(phrased):
        if token.start in rewritten:
            sms += 1
            counted += 1
        elif _correctable(token):
            counted += 1
            unknown += not _known(token.folded, index)
    return _Signals(sms, unknown, counted)


def looks_misspelt(text: str, lang: str, vocabulary: frozenset[str]) -> bool:
    """True when SMS forms, and words neither the vocabulary nor the lexicon knows (counting half), make a
    quarter of the words or more: a cheap gate for a second embedding of the normalised question."""
    return _signals(text, lang, _index(vocabulary)).misspelt_share >= _MISSPELT_SHARE


def _worth_correcting(signals: _Signals) -> bool:
    """Misspelt, and either in SMS style or mostly unknown words: a well-written question on another topic
    ("une recette de gâteau au chocolat") has many unknown words but no SMS form, and keeps them."""
    if signals.misspelt_share < _MISSPELT_SHARE:
        return False
    return signals.sms > 0 or signals.unknown >= _UNKNOWN_SHARE * signals.counted


def normalise(text: str, lang: str, vocabulary: frozenset[str] | None = None) -> str:
    """The question with SMS forms expanded ("c koi lia" -> "c'est quoi l'ia"), then, when a vocabulary is
    given and the question looks misspelt, its unknown words corrected. A well-written question comes back
    unchanged, character for character; a language other than "fr" or "en" too."""
    if lang not in _SMS:
        return text
    expanded = _expand_sms(text, lang)
    if vocabulary is None or not _worth_correcting(_signals(text, lang, _index(vocabulary))):
        return expanded
    return correct_words(expanded, vocabulary, lang)
