"""Base classes for request and response bodies."""

import re
import types
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from app.core.text import NUL, ensure_no_nul

PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Characters that show nothing on their own: format controls (zero-width spaces and
# joiners, bidi marks and embeddings, the BOM), other controls, separators and combining
# marks with nothing to combine with.
INVISIBLE_CATEGORIES = {"Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me"}


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(contains_nul(item) for item in value)
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    return False


def is_invisible(text: str) -> bool:
    """True for a non-empty text that would display as nothing (e.g. only U+200B)."""
    return bool(text) and all(unicodedata.category(c) in INVISIBLE_CATEGORIES for c in text)


def _members(annotation: Any) -> set[Any]:
    """The plain types an annotation admits: `int | None` gives {int, NoneType}."""
    if get_origin(annotation) is Annotated:
        return _members(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return set().union(*(_members(arg) for arg in get_args(annotation)))
    return {annotation}


def _item_members(annotation: Any) -> set[Any]:
    """The plain types of a list's items (`list[int]` gives {int})."""
    found: set[Any] = set()
    for member in _members(annotation):
        if get_origin(member) in (list, set, tuple, frozenset):
            for arg in get_args(member):
                if arg is not Ellipsis:
                    found |= _members(arg)
    return found


def _strict(value: Any, members: set[Any]) -> None:
    if int in members and bool not in members and isinstance(value, bool):
        raise ValueError("must be an integer, not true or false")
    if date in members and datetime not in members:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError("must be a date as YYYY-MM-DD, not a number")
        if isinstance(value, str) and not PLAIN_DATE.fullmatch(value.strip()):
            raise ValueError("must be a date as YYYY-MM-DD, without a time")


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, enums arrive as their plain values, and
    no text carries a NUL character (PostgreSQL cannot store one).

    Every request model also gets the input rules that no domain should have to repeat:
    integers are integers (`true` is not 1), a date is `YYYY-MM-DD` (not a timestamp nor a
    number of seconds), and a text made only of invisible characters (zero-width spaces,
    bidi controls) is refused as if it were blank."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True, str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        _strict(value, _members(field.annotation))
        if isinstance(value, list):
            item_members = _item_members(field.annotation)
            for item in value:
                _strict(item, item_members)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def ensure_no_nul(cls, value: Any) -> Any:
        if contains_nul(value):
            ensure_no_nul(NUL)
        if isinstance(value, str) and is_invisible(value):
            raise ValueError("must contain visible characters, not only invisible ones")
        return value


class ResponseModel(BaseModel):
    """A response body, built from an ORM object or a mapping (never returned as ORM)."""

    model_config = ConfigDict(from_attributes=True)
