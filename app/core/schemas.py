"""Base classes for request and response bodies."""

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, enums arrive as their plain values."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True, str_strip_whitespace=True)


class ResponseModel(BaseModel):
    """A response body, built from an ORM object or a mapping (never returned as ORM)."""

    model_config = ConfigDict(from_attributes=True)
