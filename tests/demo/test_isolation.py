"""Demo code stays out of production: only the `tracker` command reaches it."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def package_of(path: Path) -> str:
    parts = path.relative_to(APP).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def test_no_production_module_imports_demo_code() -> None:
    offending = sorted(
        f"{path.relative_to(APP)}: {module}"
        for path in APP.rglob("*.py")
        if package_of(path) not in ("demo", "cli")
        for module in imported_modules(path)
        if module == "app.demo" or module.startswith("app.demo.")
    )
    assert offending == []


def test_domains_no_longer_import_each_other_both_ways() -> None:
    """Demo seeding used to make holders <-> enterprises and coaching <-> followups cycles."""
    imports: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        package = package_of(path)
        for module in imported_modules(path):
            if module.startswith("app.") and module.split(".")[1] != package:
                imports.setdefault(package, set()).add(module.split(".")[1])
    for first, second in (("holders", "enterprises"), ("coaching", "followups")):
        assert not (second in imports.get(first, set()) and first in imports.get(second, set())), (
            first,
            second,
        )
