"""What a question expects, read from its wording: the kind of answer, its focus, its parts and its premise.

Retrieval matches a question to passages on topic; it does not see that "Combien coûte Objectif IA et combien
de temps dure-t-il ?" asks two things, that "combien de temps" wants a duration, or that "L'école, c'est
uniquement pour les salariés du groupe, non ?" asks whether a statement is true. Every answer mode (curated
FAQ answer, extract, LLM) needs that reading to judge whether a candidate answers, so it is computed once per
message here: plain regular expressions on the folded text (``bot.text.fold``: no accents, lower case), a
fraction of a millisecond, no model. Both languages' patterns always apply (users mix them), SMS spellings
("cb", "koi", "ki", "kan", "tps") included.

- **answer type** (``AnswerType``): from the interrogative form of the question sentence (the text after the
  last ".", "!", ":" or ";", after a polite opener such as "tu sais" / "can you"), checked in this order:
  a yes/no tag at the end ("…, non ?", "…, right?") wins, since it puts a statement up for confirmation;
  then the interrogatives that name a type (comparison, duration before money and number, money, number,
  date, the holder of a role before person, person, place, list, definition); then a yes/no form (a verb or
  auxiliary first, "est-ce que", an inversion); then any other interrogative ("pourquoi", "comment", "quel",
  "how", "which"…) says ``other``; a message that still ends with "?" is a yes/no question said with the
  voice ("c'est gratuit ?"); anything else is ``other``. A message of several questions has its first
  question's type.
- **focus**: the content words (``bot.text.content_words``, stemmed) of the question without interrogative,
  SMS, polite and generic words ("formation", "programme", "temps"), rarest first by ``WordWeights`` (named
  entities and acronyms first among equals): what an answer must mention to be about the question.
- **parts**: the questions of a message that holds several: one per "?", and within one, a coordination that
  opens a new interrogative ("… et combien de temps dure-t-il ?", "…, and who runs them?") but not a noun
  phrase's "et"/"and" ("la data et l'IA"), and only after a clause that is itself a question. A part made of
  its interrogative alone ("…, et où ?") takes the predicate of the other part; a part whose subject is a
  pronoun or missing takes the first part's subject (a topic put first, "X, c'est …"; a French inversion's
  subject; the longest name; else the rarest focus words), so that each part can be searched alone; a part
  that spoke of it by a pronoun is marked (``leaning``): it is declined with the first part.
- **premise**: for a yes/no question, the statement whose truth is asked: tag, "est-ce que" and fillers
  removed, a simple inversion undone ("Peut-on financer …" → "On peut financer …", "Is there …" → "There
  is …"), a topic put back as subject ("L'école, c'est …" → "L'école est …"); ``negated_premise`` when its
  main clause is negative ("Il n'y a pas de concours, si ?"; not "ne … que", a restriction).

``holds_type`` tells whether a candidate answer holds something of the expected type (a figure, a duration,
a date, a name, a place), and ``focus_coverage`` how much of the focus it mentions, weighted by rarity.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.schema import Lang
from bot.text import WordWeights, content_words, fold, words

AnswerType = Literal[
    "number",
    "money",
    "duration",
    "date",
    "role_holder",
    "person",
    "place",
    "yes_no",
    "definition",
    "list",
    "comparison",
    "other",
]
MAX_PARTS = 3
MAX_TOPIC_WORDS = 6  # a topic put first ("Objectif IA, c'est …") is a noun phrase: longer, it is a clause
MAX_FLAT_TABLE = 1024  # characters whose folded form is kept (the ones users type: a few hundred)
MAX_DEFINED_WORDS = 3  # "what is X" defines X when X is a short noun phrase, not "what is La Poste looking for"


@dataclass(frozen=True)
class QuestionAnalysis:
    """What a question expects. ``focus``: the content words (``bot.text.content_words``) an answer must be
    about, rarest first; ``parts``: the sub-questions, each standing alone, ``(question,)`` for one;
    ``premise``: for a yes/no question, the statement whose truth is asked, else None; ``negated_premise``:
    that statement is negative ("Il n'y a pas de concours, si ?"); ``leaning``: for each part, whether it speaks
    of what the first asks about by a pronoun ("Where is Probayes headquartered and what does it specialise
    in?"); ``names``: the words of each name the question sentences ask about, in order (an organisation, a
    product; not a place put after "à" or "in", nor a name in a long message's personal context), since a text
    about something else names none of them."""

    question: str
    lang: Lang
    answer_type: AnswerType
    focus: tuple[str, ...]
    parts: tuple[str, ...]
    premise: str | None
    negated_premise: bool
    leaning: tuple[bool, ...] = (False,)
    names: tuple[tuple[str, ...], ...] = ()


# --- Text forms ---------------------------------------------------------------------------------------------


class _FlatTable(dict[int, str]):
    """``str.translate``'s table for ``_flat``, filled as characters are met (a few hundred at most are
    kept: any other is folded again when met)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        lower = char.lower() if len(char.lower()) == 1 else char
        folded = lower if char.isascii() or lower == "ù" else fold(char)
        flat = folded if len(folded) == 1 else lower
        if len(self) < MAX_FLAT_TABLE:
            self[code] = flat
        return flat


_FLAT_TABLE = _FlatTable()


def _flat(text: str) -> str:
    """``fold`` one character at a time, so that a match's span in it is the same words' span in ``text``;
    "ù" is kept: it tells "où" (where) from "ou" (or)."""
    return text.translate(_FLAT_TABLE)


_FILLER = r"(?:(?:et|and|mais|but|alors|so|ok|okay|donc|bon|du coup|sinon|ah|oh|hmm|bonjour|salut|hello|hi)\b[\s,]*)*"
_BOUNDARY = re.compile(r"[.!:;]\s+(?=\S)")


def _asked(flat: str) -> str:
    """The question sentence: what follows the last sentence boundary ("J'ai 52 ans : y a-t-il …")."""
    pieces = [p for p in _BOUNDARY.split(flat.strip()) if re.search(r"\w", p)]
    return pieces[-1].strip() if pieces else flat.strip()


def _leading_filler(flat: str) -> int:
    """Length of the fillers that open a sentence ("et", "ok so", "bonjour,")."""
    match = re.match(r"\s*" + _FILLER, flat)
    return match.end() if match else 0


# --- Names --------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"(?:[lLdDjJsSnNcCmMtT]|[qQ]u)['’]|[^\W_]+(?:-[^\W_]+)*")
_CONNECTORS = {"de", "du", "des", "la", "le", "les", "l'", "d'", "l’", "d’", "et", "of", "the", "and", "for"}
_ARTICLES = {"le", "la", "les", "l'", "l’", "the"}
# Acronyms that name the field, not an organisation: every passage here has one.
_FIELD_ACRONYMS = {"IA", "AI", "ML", "OK"}
_CALENDAR = set(
    """january february march april may june july august september october november december monday tuesday
    wednesday thursday friday saturday sunday""".split()
)


@dataclass(frozen=True)
class _Name:
    text: str
    start: int
    at_sentence_start: bool
    tokens: int


def _capital(token: str) -> bool:
    return token[:1].isupper() and token not in ("I", "I'")


def _strong(token: str) -> bool:
    """A token that is a name wherever it stands: an acronym ("RGPD") or inner capitals ("ChatGPT")."""
    letters = [c for c in token if c.isalpha()]
    return len(letters) >= 2 and (token.isupper() or any(c.isupper() for c in token[1:]))


def _sentence_start(text: str, position: int) -> bool:
    before = text[:position].rstrip()
    return not before or before[-1] in '.!?:;«"(\n'


def _span_end(tokens: list[tuple[str, int, int]], text: str, first: int) -> int:
    """Index of the last token of the name that starts at ``first``: capitalised tokens, with connectors
    ("de la", "of the") and one lower-case word after a connector ("École de la data et de l'IA") between
    them; punctuation ends it."""
    end, lower_run = first, False
    for k in range(first + 1, len(tokens)):
        token, start, _ = tokens[k]
        if text[tokens[k - 1][2] : start].strip():
            break
        if _capital(token):
            end, lower_run = k, False
        elif token.lower() in _CONNECTORS:
            continue
        elif not lower_run and tokens[k - 1][0].lower() in _CONNECTORS:
            lower_run = True
        else:
            break
    return end


def _opens_name(tokens: list[tuple[str, int, int]], index: int) -> bool:
    """A capitalised article before a capitalised word: "La Poste", "The Alan Turing Institute"."""
    following = tokens[index + 1][0] if index + 1 < len(tokens) else ""
    return tokens[index][0].lower() in _ARTICLES and _capital(following)


@lru_cache(maxsize=256)
def _names(text: str) -> tuple[_Name, ...]:
    """Capitalised spans: named entities, organisations, programmes. A lone capitalised word that opens a
    sentence is not one (unless an acronym or "ChatGPT"-like); a capitalised article opens a name
    ("La Poste"); a capitalised function word that opens a sentence is skipped ("Is Objectif IA …")."""
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    found: list[_Name] = []
    index = 0
    while index < len(tokens):
        token, start, _ = tokens[index]
        if not _capital(token) or not (content_words(token) or _strong(token) or _opens_name(tokens, index)):
            index += 1
            continue
        opens = _sentence_start(text, start)
        end = _span_end(tokens, text, index)
        if not (opens and end == index and not _strong(token)):
            found.append(_Name(text[start : tokens[end][2]], start, opens, end - index + 1))
        index = end + 1
    return tuple(found)


_LEADING_ARTICLE = re.compile(r"^(?:[lL]['’]|(?:la|le|les|the) )", re.IGNORECASE)


def _real_names(text: str) -> list[_Name]:
    """Names that say who or what: not the field's acronyms ("l'IA"), a month or a weekday."""
    return [
        name
        for name in _names(text)
        if (core := _LEADING_ARTICLE.sub("", name.text)) not in _FIELD_ACRONYMS and fold(core) not in _CALENDAR
    ]


# --- Answer type --------------------------------------------------------------------------------------------

_OPENER = re.compile(
    r"(?:(?:can|could|would) you (?:please )?(?:tell me|let me know)|do you know|tu sais|sais-tu|savez-vous|"
    r"vous savez|(?:tu peux|peux-tu|pouvez-vous|pourriez-vous|vous pouvez) me dire|dis-moi|dites-moi|"
    r"tell me|je (?:voudrais|veux|aimerais) savoir|i(?: would|'d)? like to know|i want to know|i wonder|"
    r"je me demande|est-ce que (?:tu sais|vous savez|tu peux me dire|vous pouvez me dire))\s*,?\s*"
    r"(?P<whether>si\b|s'|if\b|whether\b)?\s*"
)
_REQUEST = re.compile(
    r"(?:(?:can|could|would) you (?:please )?|(?:peux|pourrais|pouvez|pourriez)-(?:tu|vous) (?:me |m')?|"
    r"(?:tu|vous) (?:peux|pourrais|pouvez|pourriez) (?:me |m')?)"
    r"(?=(?:give|show|explain|list|describe|summari[sz]e|recommend|write|name|define|compare|donner|expliquer|"
    r"montrer|lister|decrire|resumer|conseiller|ecrire|definir|comparer|citer|presenter|parler)\b)"
)
_TAG_LONG = (
    r"n'est[- ]ce pas|c'est (?:bien )?(?:ca|cela|exact|vrai|correct)|pas vrai|j'ai (?:bon|raison)|"
    r"tu confirmes|vous confirmez|si j'ai bien compris|oui ou non|ou pas|ou non|or not|"
    r"isn't (?:it|that (?:right|so|true))|aren't (?:they|you|we)|doesn't (?:it|he|she|that)|"
    r"don't (?:they|you|we|i)|didn't (?:it|they|he|she)|wasn't (?:it|he|she)|won't (?:it|they)|"
    r"is(?:n't)? that (?:right|correct|true|so)|am i right"
)
_TAG_SHORT = r"non|si|hein|vrai|right|correct|true|no|yeah|ok|is it|are they|do they|does it|did it|was it"
_TAG = re.compile(rf"[\s,;–—-]+(?:{_TAG_LONG})[\s?!.]*$|\s*[,;–—-][\s,;–—-]*(?:{_TAG_SHORT})[\s?!.]*$")

_COUNT = r"(?:combien|cb|cmb|cbn)"
_TIME_UNIT = (
    r"(?:temps|tps|heures?|hrs?|hours?|jours?|journees?|days?|semaines?|weeks?|mois|months?|ans|annees?|"
    r"years?|minutes?|mins?)"
)
_WHAT_NOUN = r"(?:\bquel(?:le)?s?|\bkel(?:le)?s?|\bc'?(?:est)? ?(?:quoi|koi)|\bwhat(?:'s| is| was| are| were)?|\bwhich)"
_NUMBER_NOUNS = (
    r"prix|couts?|tarifs?|montant|frais|nombre|pourcentage|part|proportion|taux|salaire|remuneration|age|note|"
    r"score|budget|somme|effectif|prices?|costs?|fees?|number|percentage|share|rate|salary|grade|amount|tuition"
)
_ORGS_FR = (
    r"entreprises?|societes?|organisations?|organismes?|entites?|structures?|filiales?|partenaires?|ecoles?|"
    r"start-?ups?|institutions?|associations?|personnes?|experts?|formateurs?|intervenants?|acteurs?|groupes?|"
    r"universites?|etablissements?|fondations?|marques?|profs?|professeurs?"
)
_ORGS_EN = (
    r"compan(?:y|ies)|organi[sz]ations?|institutions?|firms?|partners?|subsidiar(?:y|ies)|schools?|"
    r"universit(?:y|ies)|people|persons?|experts?|instructors?|teachers?|trainers?|start-?ups?|groups?|"
    r"entit(?:y|ies)|bod(?:y|ies)|agenc(?:y|ies)|foundations?|brands?|employers?"
)
_CLAUSE = rf"(?:^|[:;]\s*){_FILLER}"  # the start of the question sentence, fillers skipped

_COMPARISON = (
    r"\bdiff(?:erences?)?\b|\bdifferent(?:e|s|es)? (?:de|d'|du|des|from|than|to)\b|\bdiffer(?:s)? from\b|"
    r"\bdifferencier?\b|\b(?:vs|versus)\b|\bcompar\w*|\bplutot que\b|\brather than\b|\bbetter than\b|"
    r"\bmieux que\b|\bdistingu\w*|\bsepare(?:nt)?\b|\bseparates?\b|\bressembl\w*|\bsame as\b|"
    r"\bmeme chose que\b|\b(?:lequel|laquelle|lesquel(?:le)?s) "
    r"(?:choisir|prendre|vaut|est (?:le )?(?:plus|mieux|meilleur))|"
    r"\bwhich (?:one|is better|should i (?:choose|pick|take))\b|\bvaut[- ](?:il )?mieux\b|\bis it better\b"
)
_DURATION = (
    rf"\b{_COUNT} (?:de |d')?{_TIME_UNIT}\b|\bhow long\b|\bhow (?:many|much) (?:time|{_TIME_UNIT})\b|"
    rf"\bduree\b|\bduration\b|\bdure(?:nt|ra|ront|rait)? {_COUNT}\b|\b(?:takes?|lasts?) how (?:long|many)\b"
)
_MONEY_NOUNS = (
    r"prix|couts?|tarifs?|montant|frais|salaires?|remunerations?|budget|chiffre d'affaires|paye|paie|prices?|"
    r"costs?|fees?|salar(?:y|ies)|pay|wages?|revenues?|turnover|tuition"
)
_MONEY_VERBS = r"(?:cout(?:e|ent|era|erait)|gagn(?:e|ent|era|erait)|paie|paye|payent|paient|touchent|touche)"
_MONEY = (
    rf"\b{_COUNT} (?:(?:ca|cela|il|elle|on|ils|elles|je|tu|vous|le|la|les|un|une|l')\s*)*{_MONEY_VERBS}\b|"
    rf"\b{_MONEY_VERBS} {_COUNT}\b|"
    r"\bhow much (?:money\b|(?:\w+ ){0,7}?(?:cost|costs|pay|pays|paid|earn|earns|make|makes|charge|charges)\b)|"
    rf"{_WHAT_NOUN} (?:(?:est|sont|etait|is|are|was) )?"
    rf"(?:(?:le|la|l'|les|the|its|their|average|usual|typical|moyen|annuel|annual) ?)*(?:{_MONEY_NOUNS})\b"
)
_NUMBER = (
    rf"\b{_COUNT}\b|\bhow (?:many|much)\b|\bhow old\b|\bnombre\b|\bpourcentage\b|\bpercentage\b|"
    rf"{_WHAT_NOUN} (?:(?:est|sont|etait) )?(?:(?:le|la|l'|les|the) ?)?(?:{_NUMBER_NOUNS})\b"
)
_DATE = (
    r"(?:^|[:;]\s*|\b(?:c'est|c|depuis|a partir de|jusqu'a|jusqu'|des|et|mais|alors|ok|bon|sinon) )"
    r"(?:quand|kan)\b(?! meme)(?! (?:on|je|j'|tu|nous|vous) [^?]*,)|\b(?:quand|kan)\s*[?!.]*$|\bquand est-ce\b|"
    r"\bquel(?:le)? (?:date|annee|mois|jour|periode|epoque|saison)\b|\bdate limite\b|\bdeadline\b|"
    rf"{_CLAUSE}when\b|\b(?:and|but|so|since|until) when\b|\bwhen\s*[?!.]*$|"
    r"\b(?:what|which) (?:year|date|day|month|time of year)\b|\bdepuis quand\b"
)
_PERSON = (
    r"(?:^|[:;]\s*|\b(?:c'est|c|par|avec|pour|a|de|chez|et|mais|alors|ok|sinon) )(?:qui|ki)\b(?!-)|"
    rf"\b(?:qui|ki)\s*[?!.]*$|\b(?:quel(?:le)?s?|kel(?:le)?s?) (?:{_ORGS_FR})\b|"
    rf"{_CLAUSE}(?:who|whom|whose)\b|\b(?:and|but|so) (?:who|whom|whose)\b|\bwho\s*[?!.]*$|\bby whom\b|"
    rf"\b(?:which|what) (?:\w+ ){{0,2}}(?:{_ORGS_EN})\b"
)
# Someone asked for by the role they hold ("Qui dirige le groupe ?", "Who chairs the CNNum?", "Comment s'appelle le
# directeur de l'école ?"): answered by a person named with that role, not by an organisation ("who runs Café IA?"
# is a "person" question: an organisation answers it)
_ROLES = (
    r"(?:dirig\w*|direct(?:eur|rice|or)s?|direction|presid\w*|pdg|ceo|patron(?:ne)?s?|chair\w*|head(?:s|ed)?|"
    r"chief executive|boss)"
)
_ROLE_HOLDER = (
    rf"\b(?:qui|ki|who)\b(?:[\s']+[\w']+){{0,3}}?[\s']+{_ROLES}\b|"
    rf"\b(?:comment s'appell?e|nom d[eu']|name of)\s*(?:le |la |l'|the )?(?:[\w']+\s+){{0,2}}?{_ROLES}\b"
)
_PLACE = (
    r"(?:^|[:;]\s*|\b(?:et|mais|par|d'|de|jusqu'|c'est|c|vers|alors|ok) ?)où\b|\boù\s*[?!.]*$|"
    r"\b(?:par|d'|d) ?ou\s*[?!.]*$|^ou (?:se|s'|est|sont|faut|peut|trouve|aller)\b|"
    r"\bou se (?:trouve|situe|passe|deroule|fait)\b|"
    r"\bquel(?:le)?s? (?:ville|region|pays|lieu|endroit|adresse|campus|departement|site|locaux)\b|"
    rf"{_CLAUSE}where\b|\b(?:and|but|so) where\b|\bwhere\s*[?!.]*$|"
    r"\b(?:which|what) (?:city|cities|town|region|country|countries|place|location|address|campus|site|venue)\b"
)
_LIST = (
    r"\b(?:quel(?:le)?s|kel(?:le)?s)\b|\blist(?:e|er|ez|s)?\b|\benumer\w*|\bwhat are (?:the|some|all|your)\b|"
    r"\bwhich (?:\w+ ){0,2}\w+s (?:are|were|do|does|did|can|will|have)\b|\b(?:des|quelques|d'autres|some|a few|other) "
    r"(?:exemples|examples)\b|\bcite[rz]?[- ]moi\b|\bciter\b|\bname (?:some|the|a few|\d+|two|three)\b|"
    r"\bwhat (?:kinds?|types?|sorts?) of\b"
)
_DEFINITION = (
    r"\bc'?(?:est)? ?(?:quoi|koi)\b|\bveu(?:t|lent) dire\b|\bsignifi\w*|\bdefini\w*|\bdefine\b|"
    r"\bexpliqu(?:e|ez)[- ]moi\b|\bexpliquer\b|\bexplain\b|\b(?:sert|servent) a (?:quoi|koi)\b|"
    r"\ba (?:quoi|koi) (?:sert|servent|ca sert|sa sert)\b|"
    r"\bde (?:quoi|koi) (?:s'agit|il s'agit|parle)\b|\bqu'est[- ]ce que c'est\b|\bkesako\b|\bquesaco\b|"
    r"\bcomment (?:fonctionne(?:nt)?|marche(?:nt)?|ca (?:marche|fonctionne)|sa marche)\b|"
    r"\bhow (?:does|do) .{1,60}\bwork\b|"
    r"\bwhat (?:does|do) .{1,60}\b(?:mean|stand for)\b|\bmeaning of\b|\bque fait (?:un|une|le|la|l')|"
    r"\b(?:il|elle) fait quoi\b|\bwhat (?:does|do) (?:a|an) .{1,40}\bdo\b|\btell me about\b|"
    r"\b(?:parle|presente)[- ]moi (?:de|du|des|d')|\boverview\b|\bpresentation\b|"
    r"\ben (?:quelques|deux|2) (?:mots|lignes)\b|\bin (?:a few|two|2|simple) (?:words|lines|terms)\b|\bin a nutshell\b"
)
_WHAT_IS = re.compile(
    rf"{_CLAUSE}(?:what(?:'s|s| is| are| was| were)|wats|wat is|qu'est[- ]ce qu(?:e |')|c'est quoi)"
    r"\s*(?P<np>[^,?.:;!]*)"
)
_NOT_DEFINED = set(
    "i you we they he she on je j tu il elle nous vous ils elles ca cela going happening wrong up".split()
)

# The slow patterns (context before the interrogative) are tried only when one of their words is there.
_PLACE_WORDS = "où ou d par quel quelle quels quelles where which what"
_TYPED_SOURCES: tuple[tuple[AnswerType, str, str], ...] = (
    ("comparison", _COMPARISON, ""),
    ("duration", _DURATION, ""),
    ("money", _MONEY, ""),
    ("number", _NUMBER, ""),
    ("date", _DATE, "quand kan quel quelle date deadline when what which depuis"),
    ("role_holder", _ROLE_HOLDER, "qui ki who comment nom name"),
    ("person", _PERSON, "qui ki quel quelle quels quelles kel kelle kels kelles who whom whose which what by"),
    ("place", _PLACE, _PLACE_WORDS),
    ("list", _LIST, ""),
    ("definition", _DEFINITION, ""),
)
_TYPED = tuple(
    (kind, re.compile(pattern), frozenset(needed.split()) if needed else None)
    for kind, pattern, needed in _TYPED_SOURCES
)
_INVERSION = re.compile(r"\b\w+-(?:t-)?(?:je|tu|il|elle|on|nous|vous|ils|elles)\b(?!-)")
_AUXILIARY = (
    r"is|are|was|were|do|does|did|can|could|will|would|should|shall|may|might|must|has|have|had|am|isn't|"
    r"aren't|don't|doesn't|didn't|can't|won't|wouldn't|shouldn't|couldn't"
)
_YES_NO_START = re.compile(
    rf"(?:^|[,:;]\s*){_FILLER}(?:est[- ]ce|estce|esque|eske|y'?\s?a[- ]t[- ]il|ya[- ]t[- ]il|faut[- ]il|"
    rf"\w+-(?:t-)?(?:je|tu|il|elle|on|nous|vous|ils|elles)\b|(?:{_AUXILIARY})\b)"
)
_REASON = re.compile(rf"^{_FILLER}(?:pourquoi|pk|pq|pkoi|why|pour quelle raison|for what reason)\b")
_ELLIPTIC = re.compile(r"^(?:et|and|mais|but|ok|so|alors|sinon)\b|^(?:what|how) about\b")
_VERB_HINT = re.compile(
    r"\b(?:est|sont|c'est|c|il|elle|on|je|j'|tu|ya|y a|faut|peut|peux|puis|dois|doit|a|ai|as|ont|avait|is|are|"
    r"was|were|do|does|did|can|could|will|would|should|there|it|i|you|fait|va|vais)\b|\w+-(?:t-)?(?:il|elle|on)\b"
)
_OTHER_WH = re.compile(
    r"\b(?:pourquoi|comment|quel(?:le)?s?|kel(?:le)?s?|lequel|laquelle|lesquel(?:le)?s|quoi|koi|why|how|what|"
    rf"whats|wats|which|where|who|whom|whose)\b|{_CLAUSE}(?:que|qu')\s*\w|\bqu'est-ce qu"
)


def _defines(asked: str) -> bool:
    """ "What is X" / "qu'est-ce que X" with X a short noun phrase: a definition; "qu'est-ce qu'on obtient
    une fois Objectif IA terminé" or "what is La Poste's school looking for …" are not."""
    match = _WHAT_IS.search(asked)
    if not match:
        return False
    phrase = match.group("np").strip()
    first = words(phrase)[:1]
    return bool(first) and first[0] not in _NOT_DEFINED and 1 <= len(content_words(phrase)) <= MAX_DEFINED_WORDS


_Opener = Literal["whether", "request", "none"]


def _without_opener(asked: str) -> tuple[str, _Opener]:
    """The question without a polite opener, and what the opener says: it embeds a yes/no question ("tu sais
    si …", "do you know whether …"), it makes a request of the rest ("can you explain …", "peux-tu me
    conseiller …"), or nothing ("do you know when …" asks "when …")."""
    start = _leading_filler(asked)
    match = _OPENER.match(asked, start)
    if match and match.end() < len(asked):
        return asked[match.end() :], "whether" if match.group("whether") else "none"
    request = _REQUEST.match(asked, start)
    return (asked[request.end() :], "request") if request else (asked[start:], "none")


def _typed(asked: str) -> AnswerType | None:
    present = set(re.findall(r"[a-zù]+", asked))
    for kind, pattern, needed in _TYPED:
        if (needed is None or needed & present) and pattern.search(asked):
            return kind
    return "definition" if _defines(asked) else None


def _answer_type(part: str) -> AnswerType:
    sentence = _asked(_flat(part))
    asked, opener = _without_opener(sentence)
    if opener == "whether" or _TAG.search(asked):
        return "yes_no"
    if _REASON.match(asked):
        return "other"  # a reason: "Pourquoi … vaut pas mieux que …" is no comparison
    typed = _typed(asked)
    if typed or opener == "request":
        return typed or "other"
    if _ELLIPTIC.match(sentence) and not _VERB_HINT.search(asked):
        return "other"  # "et pour les salariés de La Poste ?": the previous question, about something else
    if _YES_NO_START.search(asked):
        return "yes_no"
    if _OTHER_WH.search(asked):
        return "other"
    return "yes_no" if asked.rstrip().endswith("?") or _INVERSION.search(asked) else "other"


# --- Parts --------------------------------------------------------------------------------------------------

_QUESTION_END = re.compile(r"\?+(?=\s|$)")
_NEXT_WH = (
    r"(?:(?:combien|cb|cmb|quand(?! meme)|kan|qui|ki|où|comment|pourquoi|pk|pq|pkoi|quel(?:le)?s?|kel(?:le)?s?|"
    r"lequel|laquelle)\b|(?:a|de|en|dans|pour|par|avec|sur|depuis|chez|a partir de|jusqu'a) "
    r"(?:quoi|qui|quel(?:le)?s?|combien|où)\b|"
    r"c'est (?:quoi|qui|quand|combien|où)|qu'est-ce|que (?:veut|signifie|fait)\b|est-ce\b|y a-t-il|y a\b|ya\b|"
    r"\w+-(?:t-)?(?:je|tu|il|elle|on|nous|vous|ils|elles)\b|how\b|what\b|what's|whats|when\b|where\b|who\b|"
    r"whom\b|whose\b|which\b|why\b|(?:is|are|do|does|did|can|should) (?:it|they|there|i|you|we|he|she|the|a|an|"
    r"this|that)\b|(?:in|on|at|for|from|since|with|by|to) (?:what|which|whom?)\b|"
    # a clause that puts its interrogative after the verb: "… et ça dure combien de temps ?"
    r"(?:ca|sa|c'est|il|elle|on|ils|elles|it|they)\s+(?:[\w'-]+\s+){0,3}?"
    r"(?:combien|cb|quand|kan|où|comment|quel(?:le)?s?|qui|ki|quoi|koi|how long|how much|when|where)\b)"
)
_COORDINATION = re.compile(
    rf"(?:\s*[,;]\s*(?:(?:et|and|mais|but|puis|then)\s+)?|\s+(?:et|and|mais|but|puis|then)\s+)(?={_NEXT_WH})"
)
# An interrogative word, not one inside a compound ("know-how") or "n'importe quoi"
_ASKS = re.compile(
    r"(?<!-)(?<!n'importe )\b(?:combien|cb|cmb|quand|kan|qui|ki|comment|pourquoi|pk|pq|pkoi|quel(?:le)?s?|"
    r"kel(?:le)?s?|lequel|quoi|koi|"
    r"how|what|whats|when|where|who|whom|whose|which|why)\b|où|\bqu'est-ce\b|\b(?:ou pas|or not)\s*$"
)
_WH_LEAD = re.compile(
    rf"^\s*{_FILLER}(?:(?:en|a|de|dans|depuis|pour|par|avec|sur|chez|in|on|at|for|from|since|with|by|to|until)\s+)?"
    rf"(?:c'est\s+)?(?:{_COUNT}(?:\s+(?:de\s+|d')\w+)?|quand|kan|pourquoi|comment|où|ou|qui|ki|quoi|koi|"
    r"quel(?:le)?s?(?:\s+\w+)?|kel(?:le)?s?(?:\s+\w+)?|lequel|laquelle|"
    r"how(?:\s+(?:much|many|long|often|old|far))?|what(?:\s+(?:year|date|day|time|kind|sort|type))?|when|where|"
    r"who|whom|whose|why|which(?:\s+\w+)?)\b"
)


def _asks(flat: str) -> bool:
    """Whether a clause is a question by itself, so that a coordination after it opens another one."""
    return bool(_ASKS.search(flat) or _YES_NO_START.search(flat) or _INVERSION.search(flat))


def _questions(text: str) -> list[str]:
    """The "?"-ended questions of a message, and a last one typed without its "?" ("… ? et la sélection elle
    se fait comment"); the statements after the last question are left out. Else the message."""
    chunks, start = [], 0
    for match in _QUESTION_END.finditer(text):
        chunk = text[start : match.start()].strip()
        if words(chunk):
            chunks.append(chunk)
        start = match.end()
    rest = text[start:].strip()
    if chunks and _unmarked_question(rest):
        chunks.append(rest)
    return chunks or [text.strip().rstrip("?").strip()]


def _question_sentences(text: str) -> str:
    """The sentences that ask, in their own case: each question's last sentence ("Je suis factrice en
    Bretagne. Puis-je candidater ?" → "Puis-je candidater")."""
    asked = []
    for chunk in _questions(text):
        flat = _flat(chunk)
        ends = [m.end() for m in _BOUNDARY.finditer(flat) if re.search(r"\w", flat[m.end() :])]
        asked.append(chunk[ends[-1] if ends else 0 :])
    return " ".join(asked)


_FIRST_PERSON = re.compile(r"(?:je|j'|i|i'm|i've|my|mon|ma|mes|moi|me|nous|we|our)\b")


def _unmarked_question(rest: str) -> bool:
    """Whether what follows a message's last "?" is one more question: it asks (an interrogative, an "ou
    pas"), is not a sentence ended by "." or "!" and does not speak of the writer ("J'aimerais savoir
    comment…" is context, "merci !" a courtesy)."""
    flat = _flat(rest)
    if not words(rest) or flat.endswith((".", "!")):
        return False
    return _asks(flat) and not _FIRST_PERSON.match(flat, _leading_filler(flat))


def _coordinated(question: str) -> list[str]:
    """One question cut where "et"/"and" opens another interrogative after a clause that asks already."""
    flat = _flat(question)
    pieces, start = [], 0
    for match in _COORDINATION.finditer(flat):
        left = flat[start : match.start()]
        if re.match(r"\s*(?:qui|ki)\b", flat[match.end() :]) and re.search(r"\bqui\b", left):
            continue  # "ceux qui codent et qui veulent …": a chain of relative clauses
        if _asks(left):
            pieces.append(question[start : match.start()])
            start = match.end()
    pieces.append(question[start:])
    return [p.strip(" ,;") for p in pieces if words(p)]


def _predicate(part: str) -> str:
    """A question without its leading interrogative phrase ("Who created X" → "created X")."""
    lead = _WH_LEAD.match(_flat(part))
    return part[lead.end() :].strip(" ,;?") if lead else part.strip(" ,;?")


def _bare(part: str) -> bool:
    """A part made of its interrogative alone: "…, et où ?", "and when?", "En quelle année et …"."""
    lead = _WH_LEAD.match(_flat(part))
    return bool(lead) and not words(part[lead.end() :] if lead else part)


def _completed(pieces: list[str]) -> list[str]:
    """Bare interrogatives given the predicate they share: the next part's ("En quelle année et dans quel
    contexte a démarré X" → "En quelle année a démarré X"), else the first part's ("Who created X, and when")."""
    done = list(pieces)
    for index, piece in enumerate(pieces):
        if not _bare(piece):
            continue
        if index + 1 < len(pieces) and not _bare(pieces[index + 1]):
            done[index] = f"{piece} {_predicate(pieces[index + 1])}"
        elif index > 0:
            done[index] = f"{piece} {_predicate(pieces[0])}"
    return done


def _without_filler(part: str) -> str:
    return part[_leading_filler(_flat(part)) :].strip() or part


# --- Subject carried to a part ------------------------------------------------------------------------------

_TOPIC = re.compile(
    rf"^\s*{_FILLER}(?P<topic>[^,:;?]{{2,80}}?)\s*[,:]\s*(?:c'est|c est|c'|ce sont|il|elle|ils|elles|ca|sa|it|they)\b"
)
_NOT_TOPIC = set(
    """je j i i'm mon ma mes my pour si if quand when since depuis pendant in under dans en apres after au a avec
    with comme as concretement donc alors ok apres avant sinon pourtant""".split()
)
_FR_WH = (
    r"(?:quand|pourquoi|comment|où|ou|combien(?:\s+(?:de\s+|d')\w+)?|"
    r"(?:(?:en|a|de|dans|depuis|pour|par|avec|sur)\s+)?quel(?:le)?s?\s+\w+)"
)
_INVERTED_SUBJECT = re.compile(
    rf"^\s*{_FILLER}(?:{_FR_WH}\s+)?(?P<subject>.+?)\s+\S+-(?:t-)?(?:il|elle|ils|elles)\b(?!-)"
)
_IMPERSONAL = re.compile(r"(?:\bfaut|\bagit|\by \w+|\bsemble|\breste)-(?:t-)?il\b")
_INVERTED_PRONOUN = re.compile(r"-(?:t-)?(?:il|elle|ils|elles)\b(?!-)")
_PRONOUN = re.compile(
    r"\b(?:it|they|them)\b|\b(?P<possessive>its|their)\b|"
    r"(?<!-)\b(?:il|elle|ils|elles|ca)\b(?! (?:faut|y a|y avait|y aura|s'agit|semble))"
)
# Pronouns that stand for a noun said before, not for the thing asked about: "the first well-known one", "which
# one", "celui-ci", "lequel"
_STAND_IN = re.compile(
    r"\b(?:which|that|this|the|each|another|other|first|last|best|latest|same|known)\s+ones?\b|"
    r"\b(?:celui|celle|ceux|celles)(?:-ci|-la)?\b|\b(?:lequel|laquelle|lesquel(?:le)?s)\b"
)
_SEPARATOR = {"fr": " : ", "en": ": "}


def _topic(first: str) -> str | None:
    """A noun phrase put before the clause: "Objectif IA, c'est …", "Le data product owner, il code …"."""
    match = _TOPIC.match(_flat(first))
    if not match:
        return None
    topic = match.group("topic")
    tokens = words(topic)
    if not tokens or len(tokens) > MAX_TOPIC_WORDS or tokens[0] in _NOT_TOPIC or not content_words(topic):
        return None
    return first[match.start("topic") : match.end("topic")].strip()


def _inverted_subject(first: str) -> str | None:
    """The subject of a French inversion: "Quand la première promotion … a-t-elle démarré" → "la première
    promotion …"; not an impersonal one ("Combien d'apprenants y avait-il")."""
    flat = _flat(first)
    match = _INVERTED_SUBJECT.match(flat)
    if not match or _IMPERSONAL.search(flat[match.start("subject") : match.end()]):
        return None
    subject = first[match.start("subject") : match.end("subject")].strip()
    return subject if content_words(subject) and not _ASKS.search(_flat(subject)) else None


def _defined(first: str) -> str | None:
    """The term a definition question asks about ("What is prompt injection" → "prompt injection")."""
    flat = _flat(first)
    match = _WHAT_IS.search(flat)
    if not match or not _defines(_asked(flat)):
        return None
    return first[match.start("np") : match.end("np")].strip(" ,;?") or None


def _subject(first: str) -> str | None:
    """What the first part is about, when it says so plainly: a topic put first, an inverted subject, the
    term it defines, or a name. Words picked by rarity instead ("adresse data") misled the search more than a
    part without a subject, which the chat searches with the first part as its context."""
    for found in (_topic(first), _inverted_subject(first), _defined(first)):
        if found:
            return found
    # A possessor is not the subject: "the first cohort of La Poste's school", not "La Poste"
    held = [n for n in _real_names(first) if not re.match(r"['’]s\b", first[n.start + len(n.text) :])]
    names = sorted(held, key=lambda n: (n.tokens, len(n.text)), reverse=True)
    return names[0].text if names else None


def _personal_inversion(flat: str) -> re.Match[str] | None:
    """The first inverted pronoun that stands for someone or something ("dure-t-il"), not an impersonal one
    ("faut-il", "y a-t-il")."""
    return next(
        (m for m in _INVERTED_PRONOUN.finditer(flat) if not _IMPERSONAL.search(flat[max(0, m.start() - 12) : m.end()])),
        None,
    )


def _with_subject(part: str, subject: str, lang: Lang) -> str:
    """``part`` with ``subject`` where it lacks one: for a French inverted pronoun, after the verb (at the end:
    "combien de temps dure Objectif IA"), for another pronoun, in its place ("how long does Objectif IA take"),
    and before a part that names nothing of its own ("Objectif IA : qui peut s'inscrire")."""
    flat = _flat(part)
    inverted = _personal_inversion(flat)
    if inverted:
        return f"{part[: inverted.start()]}{part[inverted.end() :]} {subject}"
    pronoun = _PRONOUN.search(flat)
    if pronoun:
        said = f"{subject}'s" if pronoun.group("possessive") else subject
        return f"{part[: pronoun.start()]}{said}{part[pronoun.end() :]}"
    if content_words(part) & content_words(subject) or _real_names(part):
        return part
    return f"{subject}{_SEPARATOR[lang]}{part}"


def refers_back(message: str) -> bool:
    """Whether a message speaks of something it does not name: a pronoun ("manage it", "ça s'applique aux
    boîtes américaines ?", not an impersonal "il faut") and no name of its own. Such a message is about what
    the conversation named before, however many words of its own it has."""
    flat = _flat(message)
    said_before = _PRONOUN.search(flat) or _STAND_IN.search(flat) or _personal_inversion(flat)
    return bool(said_before) and not _real_names(message)


# What people say to open another subject: the words that follow are not an ellipsis of the last question.
_NEW_SUBJECT = re.compile(
    r"^(?:(?:et|and|ok|okay|bon|d'accord|alright|right|so|alors|oh)\b[\s,]*)*"
    r"(?:sinon|au fait|a part ca|rien a voir|hors sujet|autre (?:chose|question|sujet)|(?:pour )?changer de sujet|"
    r"changement de sujet|changeons de sujet|(?:question|sujet) (?:differente?|a part)|nouvelle question|"
    r"by the way|btw|unrelated|off topic|on (?:an|a different) (?:other )?note|something else|"
    r"chang(?:e|ing) (?:the )?(?:subject|topics?)|switching (?:subjects?|topics?)|"
    r"(?:a |an )?(?:new|different|other|another|separate) (?:question|subject|topic))\b"
)


_GO_ON = re.compile(
    r"^(?:(?:ok|okay|d'accord|dac|right|alright|bon|oui|yes|cool|super|nice|merci|thanks|great|top)\b[\s,.!]*)*"
    r"(?:et|and|mais|but|alors|du coup)\b|[,\s](?:then|alors|du coup)\s*\?*\s*$"
)


def goes_on(message: str) -> bool:
    """Whether a message carries on from the last one: it opens with "et"/"and"/"mais"/"but" ("Et concrètement,
    sur quel type de projets on travaille ?") or ends with "then?"/"alors ?", and opens no new subject."""
    flat = _flat(message).strip()
    return bool(_GO_ON.search(flat)) and not opens_new_subject(message)


def opens_new_subject(message: str) -> bool:
    """Whether a message says it opens another subject ("Sinon, …", "By the way, …", "Autre question : …"):
    however short, it is not searched with what came before, unless it still speaks of it (``refers_back``)."""
    return bool(_NEW_SUBJECT.search(_flat(message)))


def _parts(question: str, lang: Lang) -> tuple[list[str], list[bool]]:
    """The questions of a message, each standing alone (without their "?"), at most ``MAX_PARTS``, and for
    each whether it spoke of the first one's subject by a pronoun before that subject was put in its place."""
    pieces = [p for chunk in _questions(question) for p in _coordinated(chunk)]
    if not pieces:
        return [question], [False]  # nothing to read: "", "???"
    pieces = _completed([pieces[0], *(_without_filler(p) for p in pieces[1:])])
    if len(pieces) > MAX_PARTS:
        pieces = [*pieces[: MAX_PARTS - 1], " ".join(pieces[MAX_PARTS - 1 :])]
    leaning = [False, *(refers_back(p) for p in pieces[1:])]
    subject = _subject(pieces[0]) if len(pieces) > 1 else None
    if subject:
        pieces = [pieces[0], *(_with_subject(p, subject, lang) for p in pieces[1:])]
    return pieces, leaning


# --- Premise ------------------------------------------------------------------------------------------------

_EST_CE_QUE = re.compile(r"\best[- ]ce qu(?:e\s+|')")
_EST_CE = re.compile(r"\best[- ]ce\b")
_IMPERSONAL_Y = re.compile(r"\by (a|avait|aura|aurait)-t?-?il\b")
_FRONT_INVERSION = re.compile(
    r"(?:^|(?<=[,:;]\s)|(?<=\bou\s)|(?<=\bet\s)|(?<=\bmais\s))"
    r"(?P<verb>[a-z]+)-(?:t-)?(?P<pronoun>je|tu|il|elle|on|nous|vous|ils|elles)\b(?!-)"
)
_INNER_INVERSION = re.compile(r"(?<=\w)-(?:t-)?(?:il|elle|on|ils|elles)\b(?!-)")
_EN_FRONT = re.compile(rf"^(?P<aux>{_AUXILIARY})\s+")
_EN_PRONOUN = re.compile(r"(?P<subject>i|you|we|they|he|she|it|there|that|this|u)\b(?!\s+(?:who|that|which)\b)")
_DISLOCATED = re.compile(
    r"^(?P<topic>[^,]{2,60}?),\s*(?:(?P<is>c'est|c est|ce sont)|il|elle|ils|elles)\s+"
    r"(?!(?:faut|y a|y avait|y aura|s'agit|semble)\b)(?=\S)"
)
_TOPIC_VERB = re.compile(r"\b(?:a|ai|as|est|suis|sont|ont|avons|avez|vais|va|fait|peux|veux|is|are|am|have|has)\b")
_VERB_FORMS = {"puis": "peux"}
_NEGATION_FR = re.compile(r"\b(?:pas|jamais|aucune?s?|nullement|guere)\b")
_NE = re.compile(r"\bn'|\bne\b")
_NE_PARTNER = re.compile(r"\b(?:plus|rien|personne|ni)\b")
_NEGATION_EN = re.compile(r"\b(?:not|never|no|none|nobody|nothing|neither|nor|cannot)\b|n't\b")
_RELATIVE = re.compile(r"\b(?:who|which|qui|dont|duquel|desquel(?:le)?s|auquel|auxquel(?:le)?s)\b[^,;:]*")


def _cut(text: str, pattern: re.Pattern[str], replacement: Callable[[re.Match[str]], str]) -> str:
    """``pattern`` found in the folded text, ``replacement`` (built from the match) put in the original."""
    match = pattern.search(_flat(text))
    return text if not match else text[: match.start()] + replacement(match) + text[match.end() :]


def _front_inversion(text: str, match: re.Match[str]) -> str:
    """ "Peut-on" → "on peut", "Puis-je" → "je peux", "Ai-je" → "j'ai", "Faut-il" → "il faut"."""
    verb = _VERB_FORMS.get(match.group("verb"), text[match.start("verb") : match.end("verb")].lower())
    pronoun = match.group("pronoun")
    return f"j'{verb}" if pronoun == "je" and verb[:1] in "aeiouh" else f"{pronoun} {verb}"


def _undo_french_inversion(text: str) -> str:
    """Each inversion of the statement undone: a verb that opens a clause goes after its pronoun, a pronoun
    after a subject ("L'École enseigne-t-elle" → "L'École enseigne") is dropped."""
    while (found := _IMPERSONAL_Y.search(_flat(text))) is not None:
        text = f"{text[: found.start()]}il y {text[found.start(1) : found.end(1)]}{text[found.end() :]}"
    while (front := _FRONT_INVERSION.search(_flat(text))) is not None:
        text = text[: front.start()] + _front_inversion(text, front) + text[front.end() :]
    while (inner := _INNER_INVERSION.search(_flat(text))) is not None:
        text = text[: inner.start()] + text[inner.end() :]
    return text


def _undo_english_inversion(text: str) -> str:
    """In the last clause, "Is there …" → "there is …", "Can I …" → "I can …", "Is Objectif IA …" →
    "Objectif IA is …"; left as it is when the subject is longer than a pronoun or a name."""
    clauses = list(re.finditer(r"(?:^|[,:;.]\s+)", text))
    start = clauses[-1].end() if clauses else 0
    front = _EN_FRONT.match(_flat(text[start:]))
    if not front:
        return text
    head, aux, rest = text[:start], text[start : start + front.end()].strip().lower(), text[start + front.end() :]
    pronoun = _EN_PRONOUN.match(_flat(rest))
    if pronoun and aux == "do" and pronoun.group("subject") in ("i", "you", "we", "they", "u"):
        return f"{head}{rest}"  # "Do I need …" → "I need …"
    if pronoun:
        return f"{head}{rest[: pronoun.end()]} {aux}{rest[pronoun.end() :]}"
    name = next((n for n in _names(rest) if n.start == 0), None)
    if not name or rest[len(name.text) : len(name.text) + 1] in ("'", "’"):
        return text  # "Does La Poste's school …": the subject is longer than the name
    return f"{head}{name.text} {aux}{rest[len(name.text) :]}"


def _capitalised(text: str) -> str:
    """Sentences that start with a capital, as a statement does."""
    return re.sub(r"(^|[.!?]\s+)(\w)", lambda m: m.group(1) + m.group(2).upper(), text)


def _undo_dislocation(text: str) -> str:
    """ "L'école, c'est uniquement …" → "L'école est uniquement …"; "Le data product owner, il code" →
    "Le data product owner code"; not when the first clause has a verb ("Ma grand-mère a 78 ans, elle …")."""
    flat = _flat(text)
    match = _DISLOCATED.match(flat)
    topic = words(match.group("topic")) if match else []
    if not match or _TOPIC_VERB.search(match.group("topic")) or not 0 < len(topic) <= MAX_TOPIC_WORDS:
        return text
    if topic[0] in _NOT_TOPIC:
        return text
    verb = {"c'est": " est ", "c est": " est ", "ce sont": " sont "}.get(match.group("is") or "", " ")
    return text[: match.end("topic")] + verb + text[match.end() :]


def _negated(text: str) -> bool:
    flat = _flat(text)
    return bool(
        _NEGATION_FR.search(flat) or (_NE.search(flat) and _NE_PARTNER.search(flat)) or _NEGATION_EN.search(flat)
    )


def _main_clause_negated(premise: str) -> bool:
    """Negation in the main clause, relative clauses left out ("someone who isn't French"): the last clause
    when it has a verb ("Je ne suis pas salarié, je peux …" is not negated), else the whole statement ("Il
    n'y a pas de concours, d'examen ou de test")."""
    flat = _RELATIVE.sub("", _flat(premise))
    last = re.split(r"\s*[,;:]\s*", flat.strip())[-1]
    if _negated(last):
        return True
    return _negated(flat) and not _VERB_HINT.search(last)


def _premise(part: str) -> str:
    text = part.strip().rstrip("?!. ")
    while (tag := _TAG.search(_flat(text))) is not None and tag.start() > 0:
        text = text[: tag.start()].rstrip("?!., ")
    text = text[_leading_filler(_flat(text)) :]
    opener = _OPENER.match(_flat(text))
    if opener and opener.group("whether"):
        text = text[opener.end() :]  # "Tu sais si l'école est gratuite" → "l'école est gratuite"
    text = _cut(text, _EST_CE_QUE, lambda m: "")
    text = _cut(text, _EST_CE, lambda m: "c'est")
    text = _undo_english_inversion(_undo_french_inversion(text))
    return _capitalised(" ".join(_undo_dislocation(text).split()))


# --- Focus --------------------------------------------------------------------------------------------------

# Words that say how the question asks, not what about: interrogatives (SMS ones too), the words of the
# answer type ("temps", "durée", "différence"), politeness, tags and the generic names of the domain.
_GENERIC = set(
    """cb cmb cbn combien koi ki kel kelle kels kelles kan quoi quel quelle quels quelles lequel laquelle lesquels
    lesquelles quand comment pourquoi qui ou estce eske kesako quesaco
    temps tps duree dure durent durer long time takes take prend prendre date annee annees year years jour jours
    day days veut dire signifie signifier definition definir definis definit define explain explique expliquer
    expliquez meaning mean means difference differences diff different differente vs versus compare comparer
    comparaison plutot rather
    formation formations programme programmes program programs cours course courses training
    chose choses truc trucs thing things stuff info infos information informations question questions
    exactement exactly vraiment really actually concretement concretely simplement simply basically gros
    svp stp pls plz please merci thanks thank bonjour hello salut coucou hey
    peux pouvez pourrait pourrais pourriez veux voudrais aimerais want like need besoin savoir know sais connais
    dis dites donne donnez give tell parle parler
    right correct vrai non oui yes okay bien confirmes confirmez confirme isn aren doesn don didn wasn weren won
    couldn shouldn wouldn haven hasn much many whats wats quick quickly rapidement vite mdr lol
    since depuis chez vers via pendant apres avant entre during after before between without sans
    suis etes sommes etais etait ete etre serait sera avait avons avez peuvent doivent fais font vais vas been
    meme aussi plus all every other others autre autres""".split()
)


def _focus(text: str, weights: WordWeights | None) -> tuple[str, ...]:
    """The content words of ``text`` but the generic ones, rarest first (with no weights, or among equals,
    the words of a name first, then the longer)."""
    kept = content_words(" ".join(w for w in words(text) if w not in _GENERIC))
    named = {w for name in _real_names(text) for w in content_words(name.text)}

    def rank(word: str) -> tuple[float, bool, int, str]:
        rarity = weights([word]) if weights is not None else 0.0
        return (-rarity, word not in named, -len(word), word)

    return tuple(sorted(kept, key=rank))


# --- Public API ---------------------------------------------------------------------------------------------

_LOCATIVE = re.compile(r"(?i:\b(?:à|a|en|in|near|vers|près de|pres de)\s+)(?P<word>[A-ZÀ-ÖØ-Þ][\w'’-]*)")


def _asked_names(question: str) -> tuple[tuple[str, ...], ...]:
    """The words (``bot.text.words``) of each name the question sentences ask about, in order: not a place
    they are put in ("à Paris", "in Lyon"), which says where the user lives or would study, nor a span joined
    through a lower-case word ("Donne-moi des exemples d'IA", "École de la data et de l'IA"), which may be
    a phrase rather than a name."""
    asked = _question_sentences(question)
    places = {m.start("word") for m in _LOCATIVE.finditer(asked)}
    found = (
        tuple(words(_LEADING_ARTICLE.sub("", n.text)))
        for n in _real_names(asked)
        if n.start not in places and not _joined_through_lower_case(n.text)
    )
    return tuple(dict.fromkeys(name for name in found if name))


def _joined_through_lower_case(name: str) -> bool:
    return any(not _capital(t) and t.lower() not in _CONNECTORS for t in _TOKEN.findall(name))


def analyse(question: str, lang: Lang, weights: WordWeights | None = None) -> QuestionAnalysis:
    """What ``question`` expects (see the module's docstring); ``weights`` ranks the focus by rarity."""
    pieces, leaning = _parts(question, lang)
    marked = " ?" if _QUESTION_END.search(question) else ""  # the first part was asked with a "?"
    answer_type = _answer_type(pieces[0] + marked) if words(question) else "other"
    premise = _premise(pieces[0]) if answer_type == "yes_no" else None
    mark = " ?" if lang == "fr" else "?"
    return QuestionAnalysis(
        question=question,
        lang=lang,
        answer_type=answer_type,
        focus=_focus(question, weights),
        parts=tuple(f"{p.rstrip(' ?')}{mark}" for p in pieces) if len(pieces) > 1 else (question,),
        premise=premise or None,
        negated_premise=bool(premise) and _main_clause_negated(premise or ""),
        leaning=tuple(leaning) if len(pieces) > 1 else (False,),
        names=_asked_names(question),
    )


# --- Answer checks ------------------------------------------------------------------------------------------

_NUMBER_WORDS = (
    r"deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|vingts?|trente|"
    r"quarante|cinquante|soixante|cents?|mille|millions?|milliards?|dizaines?|douzaines?|quinzaines?|vingtaines?|"
    r"trentaines?|quarantaines?|cinquantaines?|centaines?|milliers?|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|dozens?"
)
_QUANTITY = rf"(?:\d+(?:[.,]\d+)?|{_NUMBER_WORDS}|un|une|a|an|one|quelques|plusieurs|few|several|half)"
_UNIT = (
    r"(?:demi-)?(?:secondes?|seconds?|minutes?|mins?|mn|heures?|hours?|hrs?|jours?|journees?|days?|semaines?|"
    r"weeks?|mois|months?|ans?|annees?|years?|yrs?|trimestres?|semestres?|semesters?|quarters?)"
)
_HOLDS_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b")
# An amount of money, or a price of nothing: "gratuit" answers "combien ça coûte ?"; "rémunéré" alone does not
# answer "combien ça paie ?".
_HOLDS_MONEY = re.compile(
    r"\d\s*(?:k\s*)?(?:€|euros?\b|eur\b)|[€$£]\s*\d|\b\d[\d\s.,]*\s*(?:dollars?|pounds?)\b|"
    r"\b(?:gratuite?s?|gratuitement|free of charge|for free|(?:is|are|it's) free|sans frais|no fees?|payante?s?)\b"
)
_HOLDS_DURATION = re.compile(
    rf"\b{_QUANTITY}(?:\s*(?:a|-|–|to|ou|or|et|and)\s*{_QUANTITY})?[\s-]*(?:de |d'|of )?{_UNIT}\b|"
    r"\b\d+(?:[.,]\d+)?\s*h\b"
)
_HOLDS_DATE = re.compile(
    r"\b(?:19|20)\d{2}\b(?!\s*(?:€|euros?|eur\b|\$|dollars?|%))|\b(?:janvier|fevrier|mars|avril|mai|juin|"
    r"juillet|aout|septembre|octobre|novembre|decembre|january|february|april|june|july|august|september|"
    r"october|november|december|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|printemps|automne|hiver|spring|summer|autumn|winter)\b"
)
_MAY_MARCH = re.compile(r"\b(?:May|March)\b")
_HOLDS_PLACE = re.compile(
    r"\b(?:villes?|regions?|regional|city|cities|towns?|campus|siege|headquarters|locaux|adresse|address|rue|"
    r"avenue|boulevard|paris|lyon|marseille|lille|toulouse|bordeaux|nantes|strasbourg|rennes|montpellier|"
    r"grenoble|france|europe|ile-de-france|partout|everywhere|anywhere|nationwide|territoire|en ligne|online|"
    r"a distance|remote|remotely|distanciel|presentiel|on site|sur site|in person|onsite)\b"
)
_PLACE_AFTER = re.compile(
    r"(?i:\b(?:à|a|en|au|aux|in|at|near|vers|from|depuis|dans|près de|pres de)\s+(?:l['’]|la |le |les |the )?)"
    r"(?P<word>[A-ZÀ-ÖØ-Þ][\w'’-]*)"
)
_NOT_PLACES = _CALENDAR | {"french", "english", "francais", "anglais"}
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]+\b")


def _holds_date(text: str) -> bool:
    if _HOLDS_DATE.search(_flat(text)):
        return True
    return any(not _sentence_start(text, m.start()) for m in _MAY_MARCH.finditer(text))


def _holds_person(text: str) -> bool:
    """A name past a sentence's start (a question's own subject usually opens the answer's sentence:
    "Objectif IA est un cours…" names no one), or an acronym."""
    if any(not n.at_sentence_start for n in _real_names(text)):
        return True
    return any(m.group() not in _FIELD_ACRONYMS for m in _ACRONYM.finditer(text))


# A text says who holds a role in more words than a question asks it with: "commandés par Wellington", "à la
# tête du groupe"
_ROLE_WORD = re.compile(rf"\b(?:{_ROLES}|command\w*|leaders?|gouvern\w*|a la tete)\b")
# Names that are no one's: an organisation ("l'Institut Montaigne", "La Poste", "the Council of Europe")
_NOT_A_PERSON = re.compile(
    r"^(?:l'|(?:la|le|les|the|institut|institute|fondation|foundation|conseil|council|groupe|group|universite|"
    r"university|ecole|school|association|societe|company|commission|agence|agency|ministere|ministry|comite|"
    r"committee|office|centre|center|cabinet|club|federation|banque|bank|parti|party)\b)"
)
ROLE_REACH = 60  # characters between a role word and the name of who holds it


def _holds_role_holder(text: str) -> bool:
    """A person's name near a word of leading ("Jean Martin, directeur de l'école", "présidée par Marie Dupont"):
    "Le directeur de l'école a décrit les apprenants" names no one, so it does not say who the director is."""
    roles = [m.start() for m in _ROLE_WORD.finditer(_flat(text))]
    return bool(roles) and any(
        not name.text.isupper()
        and not _NOT_A_PERSON.match(_flat(name.text))
        and any(abs(name.start - role) <= ROLE_REACH for role in roles)
        for name in _real_names(text)
    )


def _holds_place(text: str) -> bool:
    if _HOLDS_PLACE.search(_flat(text)):
        return True
    for match in _PLACE_AFTER.finditer(text):
        word = match.group("word")
        if not word.isupper() and fold(word) not in _NOT_PLACES:
            return True
    return False


_HOLDS: dict[str, Callable[[str], bool]] = {
    "number": lambda text: bool(_HOLDS_NUMBER.search(_flat(text))),
    "money": lambda text: bool(_HOLDS_MONEY.search(_flat(text))),
    "duration": lambda text: bool(_HOLDS_DURATION.search(_flat(text))),
    "date": _holds_date,
    "role_holder": _holds_role_holder,
    "person": _holds_person,
    "place": _holds_place,
}


def holds_type(text: str, answer_type: AnswerType) -> bool:
    """Whether ``text`` holds something of ``answer_type``: a figure or a number word (not "un"/"one", which
    are mostly articles; not "gratuit"/"free"), an amount of money or "gratuit"/"free", an amount of time, a
    year, month, weekday or season, a person's name near a word of leading, a capitalised name or acronym (not
    IA/AI), a place. The other types constrain nothing: always True."""
    check = _HOLDS.get(answer_type)
    return check(text) if check else True


def focus_coverage(analysis: QuestionAnalysis, text: str, weights: WordWeights) -> float:
    """The rarity-weighted share of the focus terms that ``text`` mentions (content words, accents folded);
    1.0 for a question without focus terms, which an answer cannot miss."""
    if not analysis.focus:
        return 1.0
    total = weights(analysis.focus)
    present = set(analysis.focus) & content_words(text)
    return weights(present) / total if total > 0 else 0.0
