"""French or English? The bot answers in the language of the question, so it must tell them apart.

Only two languages matter here, which a stop-word vote settles reliably even on a four-word question; a
statistical detector would add a dependency and still stumble on short, misspelt chat messages.
"""

from __future__ import annotations

import re

from bot.schema import Lang
from bot.text import fold

_FRENCH = set(
    """le la les un une des du de d l au aux et ou est sont c ce cette ces qui que quoi quel quelle quels
    quelles comment combien pourquoi quand ou je tu il elle nous vous ils elles on mon ma mes ton ta tes
    son sa ses notre votre leur leurs pour par avec sans dans sur sous pas ne n y a ai as avez avons ont
    faut peut peux puis-je est-ce estce qu s il-y dois doit etre avoir fait faire cest quest oui non
    merci bonjour salut formation ecole donnees apprentissage ca ça moi toi svp stp aussi tres plus
    moins entre apres avant depuis vers chez cela ceci celui celle mais donc car si alors tout tous toute
    koi kel kelle pk pq ki jsuis chui jai bcp""".split()
)
_ENGLISH = set(
    """the a an of to in on at for from by with without and or is are was were be been being do does did
    what which who whom whose how why when where can could should would will shall may might must i you he
    she it we they my your his her its our their me him them this that these those there here have has
    had not no yes please thanks hello hi about into than then so if but all any some much many long
    course school training apply learn is it's what's whats dont don't does right really just only also still
    now after before more most other out up get got need want know tell every each very too never already
    because while during through until i'm i've i'd you're can't won't didn't doesn't isn't aren't wasn't
    there's let's around u ur r wat wats pls plz thx""".split()
)  # not "data": French says "la data", "data scientist" as often
# Names of the domain say nothing about the language of the sentence around them ("Can you tell me about
# the École de la data et de l'IA?" is English).
_NAMES = re.compile(
    r"[ée]cole (?:de la )?data(?: et de l['’]?\s*| )ia|la poste|objectif ia|caf[ée] ia|institut montaigne|"
    r"fondation abeona|france comp[ée]tences|p[ôo]le emploi|conseil national du num[ée]rique",
    re.IGNORECASE,
)
# An acronym says nothing either: "AI" would vote French as "ai" ("j'ai"). Not in a message typed all in
# capitals, where every word is one.
_ACRONYM = re.compile(r"\b[A-Z]{2,}\b")
_WORD = re.compile(r"[a-z]+(?:['’-][a-z]+)?")


def _votes(token: str) -> list[str]:
    """The words a token votes with: itself when known ("what's", "don't"), else its parts, so French
    elisions count ("c'est" is "c" and "est", "l'admission" is "l")."""
    if token in _FRENCH or token in _ENGLISH:
        return [token]
    return re.split(r"['’-]", token)


def detect_language(text: str, default: Lang = "fr") -> Lang:
    """Vote by stop words; French accents tip a tie. ``default`` settles a message that says nothing either way
    ("RGPD ?"): the interface's language, else French, the product's first language."""
    text = _NAMES.sub(" ", text)
    if re.search(r"[a-z]", text):
        text = _ACRONYM.sub(" ", text)
    text = text.lower()
    words = [w for token in _WORD.findall(fold(text)) for w in _votes(token)]
    fr = sum(w in _FRENCH for w in words)
    en = sum(w in _ENGLISH for w in words)
    if re.search(r"[éèêàùçôîœ]", text):
        fr += 1
    if fr == en:
        return default
    return "fr" if fr > en else "en"
