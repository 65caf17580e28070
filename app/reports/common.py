"""What every report shares: group keys, sorting, ratios."""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from app.core.errors import RuleViolation
from app.core.money import ratio
from app.reports.labels import UNSPECIFIED, humanise

T = TypeVar("T")

GroupKey = int | str


def sort_key(key: GroupKey) -> tuple[int, int, str]:
    """Ids in numeric order, then text keys (enum values, `unspecified`) alphabetically,
    `unspecified` last."""
    if isinstance(key, int):
        return (0, key, "")
    return (2 if key == UNSPECIFIED else 1, 0, key)


def sorted_rows(rows: Iterable[tuple[GroupKey, T]]) -> list[T]:
    return [row for _, row in sorted(rows, key=lambda item: sort_key(item[0]))]


def id_key(value: int | None) -> GroupKey:
    """A group id, or `unspecified` for rows without one."""
    return UNSPECIFIED if value is None else int(value)


def text_key(value: str | None) -> GroupKey:
    return UNSPECIFIED if value is None else str(value)


def id_label(value: int | None, name: str | None) -> str:
    if value is None:
        return humanise(UNSPECIFIED)
    return name if name is not None else str(value)


def share(numerator: Any, denominator: Any) -> Decimal | None:
    """A four-decimal ratio, None when the denominator is zero."""
    return ratio(Decimal(numerator), Decimal(denominator))


def ensure_order(start: date, end: date) -> None:
    """A range's `from` is on or before its `to` (422 naming `from` otherwise)."""
    if start > end:
        raise RuleViolation("from", "`from` must be on or before `to`.")
