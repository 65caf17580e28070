"""Text rules shared by holders, enterprises, coaching and follow-ups: what free text may
contain, and folding for searches that behave alike on SQLite and PostgreSQL."""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

NUL = "\x00"


def ensure_no_nul(value: str) -> str:
    """PostgreSQL cannot store a NUL character in text (SQLite can): refuse it on every
    database alike, as a 422 naming the field rather than a failed write."""
    if NUL in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    return value


NoNul = AfterValidator(ensure_no_nul)
"""Metadata for every free-text input (body fields and the `q` query parameter)."""

LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000), NoNul]
"""Notes and next steps of coaching sessions and follow-ups."""


def fold(text: str) -> str:
    """NFKD-decompose, drop combining marks, casefold: `Hâjar` and `HAJAR` both give `hajar`.

    Arabic short vowels and hamza marks are combining marks too, so `أحمد` folds to `احمد`;
    stored text and queries are folded the same way, so matching stays consistent.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_words(query: str) -> list[str]:
    """The folded words of a `q` parameter; each must appear in the searched text."""
    return [word for word in fold(query).split() if word]
