"""PATCH semantics shared by every mutable resource."""

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from app.core.audit import json_safe
from app.core.errors import RuleViolation


def patch_values(body: BaseModel, nullable: Iterable[str] = ()) -> dict[str, Any]:
    """The fields the client sent; `null` is accepted only for nullable fields."""
    values = body.model_dump(exclude_unset=True)
    allowed_null = set(nullable)
    for name, value in values.items():
        if value is None and name not in allowed_null:
            raise RuleViolation(name, "must not be null")
    return values


def apply_changes(record: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Set attributes and return `{field: {"from", "to"}}` for those that changed."""
    changes: dict[str, Any] = {}
    for name, value in values.items():
        old = getattr(record, name)
        if json_safe(old) != json_safe(value):
            changes[name] = {"from": json_safe(old), "to": json_safe(value)}
            setattr(record, name, value)
    return changes
