"""The loan arithmetic modules import nothing but the standard library (docs/ARCHITECTURE.md)."""

import ast
import sys
from pathlib import Path

import pytest

LOANS_DIR = Path(__file__).resolve().parents[2] / "app" / "loans"
PURE_MODULES = ["schedule.py", "ledger.py"]


def non_stdlib_imports(source: str) -> list[str]:
    """Imported module names that are not top-level standard library modules.

    Relative imports count as non-standard: they can only reach into ``app``.
    """
    offending: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 0:
                offending.append("." * node.level + (node.module or ""))
                continue
            names = [node.module or ""]
        else:
            continue
        offending.extend(
            name for name in names if name.partition(".")[0] not in sys.stdlib_module_names
        )
    return offending


@pytest.mark.parametrize("module", PURE_MODULES)
def test_module_imports_only_the_standard_library(module: str) -> None:
    path = LOANS_DIR / module
    assert non_stdlib_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import decimal\nfrom datetime import date", []),
        ("from collections.abc import Sequence", []),
        ("import pydantic", ["pydantic"]),
        ("from sqlalchemy.orm import Session", ["sqlalchemy.orm"]),
        ("from app.core import money", ["app.core"]),
        ("from . import schedule", ["."]),
        ("from .schedule import round_money", [".schedule"]),
        ("def f() -> None:\n    import fastapi", ["fastapi"]),
        ("if True:\n    import os, numpy", ["numpy"]),
    ],
)
def test_checker_flags_non_stdlib_imports(source: str, expected: list[str]) -> None:
    assert non_stdlib_imports(source) == expected
