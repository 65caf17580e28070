"""Text folding for searches that behave alike on SQLite and PostgreSQL."""

import unicodedata


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
