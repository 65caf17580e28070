import ast
from pathlib import Path

HOLDERS = Path(__file__).resolve().parents[2] / "app" / "holders"
FORBIDDEN = ("app.coaching", "app.loans", "app.followups", "app.timeline", "app.reports")


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_holders_never_import_the_domains_above_them() -> None:
    files = sorted(HOLDERS.glob("*.py"))
    assert {f.name for f in files} >= {"models.py", "schemas.py", "service.py", "router.py"}
    offending = {
        f"{path.name}: {module}"
        for path in files
        for module in imported_modules(path)
        if module.startswith(FORBIDDEN)
    }
    assert offending == set()
