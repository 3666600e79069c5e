"""Password rules for every account, staff included: at least MIN_LENGTH characters, kept
exactly as typed (spaces and all), and not one of the common passwords shipped in
``seed/common-passwords.txt`` (its header names the source)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

from ..config import DATA_ROOT
from .errors import Invalid

MIN_LENGTH = 8
#: Passphrases up to this length are accepted (forms say so too).
MAX_LENGTH = 128
COMMON_PATH = DATA_ROOT / "seed" / "common-passwords.txt"


@lru_cache(maxsize=1)
def common(path: Path = COMMON_PATH) -> frozenset[str]:
    """The shipped list, lower case; lines starting with '# ' are its header."""
    with open(path, encoding="utf-8") as fh:
        return frozenset(
            line.rstrip("\n").lower() for line in fh if line.strip() and not line.startswith("# ")
        )


def is_common(password: str) -> bool:
    return (password or "").strip().lower() in common()


def check(password: str, field: str = "password") -> None:
    """Raise Invalid (on ``field``) for a password no account may have."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise Invalid(_l("Use at least 8 characters."), field)
    if len(password) > MAX_LENGTH:
        raise Invalid(_l("Use at most %(max)d characters.", max=MAX_LENGTH), field)
    if is_common(password):
        raise Invalid(
            _l(
                "This password is one of the most common ones and is easy to guess. Choose "
                "another, for example a few unrelated words."
            ),
            field,
        )
