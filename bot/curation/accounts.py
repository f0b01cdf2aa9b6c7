"""Staff accounts: each person signs in with their own name and token, so that the audit log can say who did
what. Only the SHA-256 of a token is configured (``TUTOR_STAFF_ACCOUNTS``): tokens are long random strings,
for which a fast hash is enough (a slow one guards guessable passwords), and it keeps every request's check
cheap. Every account is compared, in constant time, whatever matched first, so the time a refusal takes does
not tell which names exist.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from bot.config import Settings

LEGACY_ACCOUNT = "admin"  # the name TUTOR_ADMIN_TOKEN signs in as
PREFIX = "sha256:"


def hash_token(token: str) -> str:
    """What to put in ``TUTOR_STAFF_ACCOUNTS`` for ``token``."""
    return PREFIX + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class StaffAccounts:
    hashes: dict[str, str]  # name -> "sha256:<hex>"

    @classmethod
    def from_settings(cls, settings: Settings) -> StaffAccounts:
        hashes = {name.strip(): value.strip().lower() for name, value in settings.staff_accounts.items()}
        if settings.admin_token:
            hashes.setdefault(LEGACY_ACCOUNT, hash_token(settings.admin_token))
        return cls(hashes)

    @property
    def enabled(self) -> bool:
        return bool(self.hashes)

    def identify(self, token: str | None) -> str | None:
        """The account whose token this is (an API call names no one: the token says who), else ``None``."""
        if not token:
            return None
        given = hash_token(token).encode()
        found = None
        for name, expected in self.hashes.items():
            if hmac.compare_digest(expected.encode(), given) and found is None:
                found = name
        return found

    def check(self, name: str | None, token: str | None) -> str | None:
        """``name`` when ``token`` is that account's (the staff page asks for both), else ``None``."""
        owner, wanted = self.identify(token), (name or "").strip()
        return owner if owner is not None and hmac.compare_digest(owner.encode(), wanted.encode()) else None
