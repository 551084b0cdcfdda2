"""Names the docs cite exist: docs/ARCHITECTURE.md and the docstrings of nnexp name modules,
functions and files that are really there (a renamed module leaves no stale reference).

Checked statically (``ast``, nothing imported): ``nnexp.x.y`` resolves to a module, or to a
module and a name it defines; a name after that (a method, an attribute) is not followed.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
#: Directories of the repository whose paths the page may quote.
REPO_DIRS = ("nnexp/", "hydra_plugins/", "tests/", "conf/", "docs/", "scripts/", "examples/")
#: ``nnexp.a.b`` in prose: not part of a longer path or name.
QUALIFIED = re.compile(r"(?<![\w./-])((?:nnexp|hydra_plugins)(?:\.[A-Za-z_]\w*)+)")


def _module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _keys(node: ast.Assign, name: str) -> set[str]:
    """The strings of ``name = {...}`` or ``name = [...]`` (``_EXPORTS``, ``__all__``)."""
    if not any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
        return set()
    items = node.value.keys if isinstance(node.value, ast.Dict) else getattr(node.value, "elts", [])
    return {item.value for item in items if isinstance(item, ast.Constant)}


@functools.cache
def _defined(path: Path) -> frozenset[str]:
    """Every name a file defines at any depth (functions, classes, methods, assignments) and
    the names it exports: its ``__all__``, a front page's imports and lazy ``_EXPORTS``. A name
    a module merely imports is cited where it is defined."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.alias) and path.name == "__init__.py":
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.Assign):
            names |= _keys(node, "_EXPORTS") | _keys(node, "__all__")
    return frozenset(names)


def _in_package(package: str, name: str) -> bool:
    """``name`` is defined in some module of ``package`` (or in the module itself)."""
    base = ROOT.joinpath(*package.split("."))
    files = sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]
    return any(name in _defined(f) for f in files if f.is_file())


def resolves(dotted: str) -> bool:
    """``a.b.c`` is a module, or a module followed by a name it defines."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        path = _module_file(".".join(parts[:n]))
        if path is not None:
            return n == len(parts) or parts[n] in _defined(path)
    return False


def _cited(text: str) -> set[str]:
    """Qualified names of nnexp's own modules in ``text`` (``nnexp.best_trial``, a tag, is not
    one: ``best_trial`` is no module of nnexp)."""
    found = {m.rstrip(".") for m in QUALIFIED.findall(text)}
    return {name for name in found if _module_file(".".join(name.split(".")[:2])) is not None}


def test_qualified_names_in_the_architecture_page_exist():
    missing = sorted(name for name in _cited(DOC.read_text()) if not resolves(name))
    assert missing == [], f"docs/ARCHITECTURE.md names what does not exist: {missing}"


def test_qualified_names_in_docstrings_and_comments_exist():
    sources = [*(ROOT / "nnexp").rglob("*.py"), *(ROOT / "hydra_plugins").rglob("*.py")]
    missing = sorted(
        f"{path.relative_to(ROOT)}:{number}: {name}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for name in _cited(line)
        if not resolves(name)
    )
    assert missing == [], (
        "these cite a module, or a name in a module, that is not there (cite where a name is defined):\n"
        + "\n".join(missing)
    )


def test_paths_in_the_architecture_page_exist():
    quoted = re.findall(r"`([\w./-]+)`", DOC.read_text())
    missing = sorted({p for p in quoted if p.startswith(REPO_DIRS) and not (ROOT / p).exists()})
    assert missing == [], f"docs/ARCHITECTURE.md quotes paths that do not exist: {missing}"


def _layer_rows() -> list[tuple[list[str], str]]:
    """``(packages, holds)`` of each row of the layer table."""
    rows = []
    for line in DOC.read_text().splitlines():
        match = re.match(r"\| \d+ \| (.*?) \| (.*) \|$", line)
        if match:
            packages = [p.replace("/", ".") for p in re.findall(r"`([\w./]+)`", match.group(1))]
            rows.append((packages, match.group(2)))
    return rows


def _row_name_exists(name: str, packages: list[str]) -> bool:
    """A name in a row: a module or name of the row's package (``threads``, ``sweep.run_sweep``,
    ``fit``), or of nnexp (``train.threads.blas_threads``, ``MLP`` in the config row)."""
    if name.startswith(("nnexp.", "hydra_plugins.")):
        return resolves(name)
    for package in [*packages, "nnexp"]:
        if resolves(f"{package}.{name}") or ("." not in name and _in_package(package, name)):
            return True
    return False


def test_the_layer_table_names_modules_and_functions_that_exist():
    rows = _layer_rows()
    assert len(rows) >= 7, "the layer table of docs/ARCHITECTURE.md was not found"
    missing = sorted(
        f"{packages[0]}: {name}"
        for packages, holds in rows
        for name in set(re.findall(r"`([A-Za-z_][\w.]*)`", holds))
        if not _row_name_exists(name, packages)
    )
    assert missing == [], f"the layer table names what does not exist: {missing}"


def test_the_search_front_page_names_its_modules():
    """Every module of nnexp.search is listed on its front page, and every module listed exists."""
    package = ROOT / "nnexp" / "search"
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    listed = set(re.findall(r"``(\w+)``", doc[doc.index("The lifecycle") :]))
    modules = {p.stem for p in package.glob("*.py")} - {"__init__"}
    assert modules - listed == set(), f"list these in nnexp/search/__init__.py: {sorted(modules - listed)}"
    unknown = sorted(n for n in listed - modules if not _in_package("nnexp.search", n))
    assert unknown == [], f"nnexp/search/__init__.py names what does not exist: {unknown}"
