"""How MLflow is reached is one fact in one place: only ``nnexp.tracking`` imports mlflow
(docs/ARCHITECTURE.md, "One fact, one place")."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """Top-level package names a module imports (at any depth of the file)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_tracking_package_imports_mlflow():
    tracking = ROOT / "nnexp" / "tracking"
    sources = [*(ROOT / "nnexp").rglob("*.py"), *(ROOT / "hydra_plugins").rglob("*.py")]
    outside = sorted(
        str(p.relative_to(ROOT)) for p in sources if tracking not in p.parents and "mlflow" in _imports(p)
    )
    assert outside == [], f"import mlflow through nnexp.tracking instead: {outside}"
