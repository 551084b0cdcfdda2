"""Imports follow docs/ARCHITECTURE.md: only ``nnexp.tracking`` imports mlflow ("One fact, one
place"), and imports only go down the layer table ("Layers").

The layer table is written once, in docs/ARCHITECTURE.md: :func:`doc_layers` parses it (and
:func:`doc_exceptions` the deliberate upward imports listed under it), so the page and this
check cannot disagree. Every import counts: at the top of a file, inside a function or under
``TYPE_CHECKING``, absolute or relative.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
#: The packages whose modules are checked (hydra_plugins holds nnexp's plugin only).
PACKAGES = ("nnexp", "hydra_plugins")


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


# --- the layer table -----------------------------------------------------------------------------


def _layers_section() -> str:
    text = DOC.read_text()
    start = text.index("## Layers")
    return text[start : text.index("\n## ", start + 1)]


def doc_layers() -> dict[str, int]:
    """``{package: layer}`` from the table of "## Layers" in docs/ARCHITECTURE.md: each row
    ``| n | `pkg`, `pkg` | holds |`` (a path such as ``hydra_plugins/nnexp_sweeper`` becomes
    its dotted name)."""
    layers: dict[str, int] = {}
    for line in _layers_section().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].isdigit():
            for name in re.findall(r"`([\w./]+)`", cells[1]):
                layers[name.replace("/", ".")] = int(cells[0])
    return layers


def doc_exceptions() -> set[tuple[str, str]]:
    """The deliberate upward imports the page lists under the table, as ``(module, target)``:
    lines ``- `module` imports `target` ...``."""
    found = re.findall(r"^- `([\w.]+)` imports `([\w.]+)`", _layers_section(), flags=re.MULTILINE)
    return set(found)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _modules() -> dict[str, Path]:
    """Every module of nnexp and of its Hydra plugin, by dotted name."""
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    return {_module_name(p): p for p in sorted(files)}


def _targets(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """``(imported module, line)`` for each import in the file: ``from a.b import c`` is
    ``a.b.c`` when ``c`` is a module, else ``a.b``; relative imports are made absolute."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield (submodule if _is_module(submodule) else base), node.lineno


def _layer(module: str, layers: dict[str, int]) -> int | None:
    """The layer of ``module``: its own row, else its nearest package's row. The root ``nnexp``
    row holds ``nnexp/__init__.py`` only, so a module missing from the table has no layer."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in layers and (n == len(parts) or n > 1):
            return layers[name]
    return None


def _internal(target: str) -> bool:
    return target.split(".")[0] in PACKAGES


def test_the_layer_table_is_read_from_the_page():
    layers = doc_layers()
    assert layers["nnexp.nn"] == 1 and layers["nnexp.config"] == 2 and layers["nnexp.cli"] == 6, layers
    assert layers["hydra_plugins.nnexp_sweeper"] == layers["nnexp.cli"]


def test_every_module_has_a_layer():
    layers = doc_layers()
    missing = sorted(m for m in _modules() if _layer(m, layers) is None)
    assert missing == [], f"add these to the layer table of docs/ARCHITECTURE.md: {missing}"


def test_imports_only_go_down_the_layer_table():
    layers, allowed = doc_layers(), doc_exceptions()
    violations = set()
    for module, path in _modules().items():
        own = _layer(module, layers)
        for target, line in _targets(module, path):
            theirs = _layer(target, layers) if _internal(target) else None
            if own is None or theirs is None or theirs <= own:
                continue
            if any(module == m and (target + ".").startswith(t + ".") for m, t in allowed):
                continue
            violations.add(f"{module} (layer {own}) imports {target} (layer {theirs}) at line {line}")
    if violations:
        pytest.fail("imports must go down docs/ARCHITECTURE.md's layers:\n" + "\n".join(sorted(violations)))


def test_the_listed_upward_imports_are_still_made():
    """An exception the code no longer needs is dropped from the page, so the page stays true."""
    made = {(m, t) for m, p in _modules().items() for t, _ in _targets(m, p)}
    stale = sorted(
        (m, t)
        for m, t in doc_exceptions()
        if not any(m == mm and (tt + ".").startswith(t + ".") for mm, tt in made)
    )
    assert stale == [], f"docs/ARCHITECTURE.md lists upward imports the code does not make: {stale}"


def test_the_network_imports_numpy_and_the_standard_library_only():
    allowed = {"numpy", *sys.stdlib_module_names}
    found = sorted(
        f"{module} imports {target}"
        for module, path in _modules().items()
        if module.startswith("nnexp.nn.") or module == "nnexp.nn"
        for target, _ in _targets(module, path)
        if not (target + ".").startswith("nnexp.nn.") and target.split(".")[0] not in allowed
    )
    assert found == [], f"nnexp.nn imports numpy only: {found}"


def test_nothing_imports_the_cli():
    found = sorted(
        f"{module} imports {target}"
        for module, path in _modules().items()
        if not module.startswith("nnexp.cli")
        for target, _ in _targets(module, path)
        if target == "nnexp.cli" or target.startswith("nnexp.cli.")
    )
    assert found == [], f"nothing imports nnexp.cli: {found}"
