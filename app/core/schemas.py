"""Base classes for request and response bodies."""

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from app.core.text import NUL, ensure_no_nul


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(contains_nul(item) for item in value)
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    return False


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, enums arrive as their plain values, and
    no text carries a NUL character (PostgreSQL cannot store one)."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def ensure_no_nul(cls, value: Any) -> Any:
        if contains_nul(value):
            ensure_no_nul(NUL)
        return value


class ResponseModel(BaseModel):
    """A response body, built from an ORM object or a mapping (never returned as ORM)."""

    model_config = ConfigDict(from_attributes=True)
