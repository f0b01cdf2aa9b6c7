"""Personal data in what people type is replaced by typed placeholders before it is stored, logged or searched.

GDPR's data minimisation, practised: nothing in the knowledge base needs a learner's phone number, so the
bot never keeps one, and it answers from the redacted text too (so no face, the OpenAI-compatible one
included, can echo or search with personal data). The kinds, in the order they are looked for:

==============  =============  ===================================================================================
kind            placeholder    found by
==============  =============  ===================================================================================
e-mail          ``[email]``    an address pattern
IBAN            ``[iban]``     country code, check digits, account; kept only if the mod-97 check and the
                               country's account format pass (python-stdnum), so ordinary numbers stay
payment card    ``[card]``     15 to 19 digits starting with 3-6 (the card networks), Luhn check (14-digit
                               SIRET company numbers pass Luhn too, and are not personal: they stay)
NIR             ``[nir]``      French social security number: sex, year, month, department (2A/2B for
                               Corsica), commune, order, and the 2-digit key, which must be right when given
phone number    ``[phone]``    Google's libphonenumber (``phonenumbers``), French numbers without a prefix,
                               any country with ``+`` or ``00``; only numbers valid for their numbering plan
==============  =============  ===================================================================================

Dates, prices, years, durations, RNCP numbers and the like are left alone: each kind needs its checksum or
a valid numbering plan, not just digits. Placeholders are plain ASCII, the same in French and English.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_plus

import phonenumbers
from stdnum import iban, luhn
from stdnum.fr import nir

PLACEHOLDERS = {"email": "[email]", "iban": "[iban]", "card": "[card]", "nir": "[nir]", "phone": "[phone]"}

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# Groups of four, as IBANs are written (or not grouped at all); the last group may be shorter.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,4})?\b", re.IGNORECASE)
_CARD = re.compile(r"\b[3-6](?:[ -]?\d){14,18}\b")
_NIR = re.compile(r"\b[1-478][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2[ABab])[ .]?\d{3}[ .]?\d{3}(?:[ .]?\d{2})?\b")
# Without its key a NIR has no checksum: its structure must hold (month 01-12, or 20-99 for special cases).
_NIR_WITHOUT_KEY = re.compile(r"[1-478]\d{2}(?:0[1-9]|1[0-2]|[2-9]\d)(?:\d{2}|2[AB])\d{6}")
_SEPARATORS = re.compile(r"[ .-]")
# Text with no "@" and fewer digits than the shortest phone number holds nothing to redact.
_MIN_DIGITS = 7


def _valid_nir(candidate: str) -> bool:
    compact = _SEPARATORS.sub("", candidate).upper()
    return nir.is_valid(compact) if len(compact) == 15 else bool(_NIR_WITHOUT_KEY.fullmatch(compact))


def _prefixes(candidate: str) -> Iterator[str]:
    """The candidate, then shorter versions cut at a separator: "FR76 3000 ... 189 1234" may be an IBAN
    followed by another number, which the pattern swallowed too."""
    yield candidate
    for match in reversed(list(re.finditer(r"[ -]", candidate))):
        yield candidate[: match.start()]


_CHECKED: list[tuple[str, re.Pattern[str], Callable[[str], bool]]] = [
    ("email", _EMAIL, lambda _: True),
    ("iban", _IBAN, iban.is_valid),
    ("card", _CARD, lambda text: luhn.is_valid(_SEPARATORS.sub("", text))),
    ("nir", _NIR, _valid_nir),
]


def _replace_checked(text: str, kind: str, pattern: re.Pattern[str], valid: Callable[[str], bool]) -> str:
    def substitute(match: re.Match[str]) -> str:
        found = match.group()
        for prefix in _prefixes(found):
            if valid(prefix):
                return PLACEHOLDERS[kind] + found[len(prefix) :]
        return found

    return pattern.sub(substitute, text)


def _replace_phones(text: str) -> str:
    matches = list(phonenumbers.PhoneNumberMatcher(text, "FR", leniency=phonenumbers.Leniency.VALID))
    for match in reversed(matches):
        text = text[: match.start] + PLACEHOLDERS["phone"] + text[match.end :]
    return text


def redact(text: str) -> str:
    """``text`` with every e-mail, IBAN, card number, NIR and phone number replaced by its placeholder.
    Idempotent: redacting redacted text changes nothing."""
    if "@" not in text and sum(c.isdigit() for c in text) < _MIN_DIGITS:
        return text
    for kind, pattern, valid in _CHECKED:
        text = _replace_checked(text, kind, pattern, valid)
    return _replace_phones(text)


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)


def _redacted_arg(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = redact(value if isinstance(value, str) else str(value))
    # A query string reaches the access log percent-encoded ("lea%40example.org"): look at it decoded too.
    decoded = unquote_plus(text)
    return text if decoded == text or (redacted := redact(decoded)) == decoded else redacted


def install_log_redaction() -> None:
    """Redact every log record of the process as it is created, whoever logs it (our modules, uvicorn,
    Gradio, a library's exception): no handler or formatter configured later can write personal data.
    Arguments are redacted one by one, so formatters that read them (uvicorn's access log) still work."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts", False):
        return
    logging.setLogRecordFactory(_RedactingRecordFactory(factory))


class _RedactingRecordFactory:
    """The log-record factory ``install_log_redaction`` installs: the previous one, then redaction."""

    redacts = True  # installed already: a second install_log_redaction() leaves it alone

    def __init__(self, factory: Callable[..., logging.LogRecord]) -> None:
        self.factory = factory

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.factory(*args, **kwargs)
        record.msg = _redacted_arg(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redacted_arg(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_redacted_arg(value) for value in record.args)
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record
