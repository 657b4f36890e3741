"""Which way the arrows point (docs/architecture.md): the records side (registry/) and the sync
engine (sync/) import nothing of the readers built on them: the catalogue and the webhooks."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


READERS = {"catalogue", "webhooks"}


@pytest.mark.parametrize("package", ["registry", "sync"])
def test_the_writing_side_never_imports_its_readers(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in READERS
        )
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_the_catalogue_reads_the_registry():
    """A sanity check of the scan itself: it sees the catalogue's own imports of registry/."""
    assert "registry.models" in imported_modules(ROOT / "catalogue" / "selectors.py")
