"""The sweep's on-disk contract keys are spelled once, in ``nnexp.contract``."""

from __future__ import annotations

import ast
from pathlib import Path

import nnexp
from nnexp import contract

ROOT = Path(nnexp.__file__).parent
#: Distinctive keys only (role words such as "trial" are ordinary words elsewhere).
KEYS = {
    value: name
    for name, value in vars(contract).items()
    if name.isupper() and isinstance(value, str) and ("_" in value or "." in value)
}
#: Run tags the trainer records for every run under the same names (not sweep contract).
ALLOWED = {
    ("tracking/recorder.py", "stop_reason"),
    ("tracking/recorder.py", "epochs_run"),
    ("tracking/run.py", "mlflow.parentRunId"),
}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            ids.add(id(body[0].value))
    return ids


def test_contract_keys_are_spelled_only_in_the_contract_module() -> None:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "contract.py":
            continue
        tree = ast.parse(path.read_text())
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in KEYS
                and id(node) not in docs
                and (rel, node.value) not in ALLOWED
            ):
                found.append(f"{rel}:{node.lineno} {node.value!r} (use nnexp.contract.{KEYS[node.value]})")
    assert not found, "\n".join(found)


def test_contract_values_are_unique_per_kind() -> None:
    attrs = [v for k, v in vars(contract).items() if k.endswith("_ATTR")]
    tags = [v for k, v in vars(contract).items() if k.endswith("_TAG")]
    assert len(attrs) == len(set(attrs)) and len(tags) == len(set(tags))
