"""Judge a reproduction against its original run: metric, weights, environment, data.

Verdicts: ``identical`` (same metric value and same weight checksum), ``within tolerance``
(the metric moved by at most the tolerance, in an environment that differs), ``mismatch``
(the metric moved by more than the tolerance, or the environment matches and the numbers do not:
then training is not deterministic, whatever the tolerance).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from nnexp.tracking.provenance import CODE_TAGS, ENV_PREFIX

IDENTICAL = "identical"
WITHIN_TOLERANCE = "within tolerance"
MISMATCH = "mismatch"


@dataclass
class Difference:
    """One thing that differs between the original and now."""

    what: str
    original: str
    now: str

    def __str__(self) -> str:
        return f"{self.what}: {self.original} -> {self.now}"


def environment_differences(original: Mapping[str, str], reproduced: Mapping[str, str]) -> list[Difference]:
    """``env.*`` and code-version tags (``nnexp.version``, ``git.*``) that differ between two runs.

    Tags the original never recorded (older runs) count as differences (``not recorded``).
    """
    keys = sorted({k for k in {**original, **reproduced} if k.startswith(ENV_PREFIX)} | set(CODE_TAGS))
    out = []
    for key in keys:
        a, b = original.get(key), reproduced.get(key)
        if a != b and not (a is None and b is None):
            out.append(
                Difference(
                    key, a if a is not None else "not recorded", b if b is not None else "not recorded"
                )
            )
    return out


def data_differences(
    original_files: Mapping[str, str] | None,
    original_sha256: str | None,
    identity: Mapping[str, object],
) -> list[Difference]:
    """Dataset files whose sha256 changed (or appeared/disappeared) since the original run.

    Data without files (generated: xor, moons) is compared by the combined checksum.
    """
    now_files: dict[str, str] = dict(identity.get("files") or {})  # type: ignore[arg-type]
    source = str(identity.get("source", ""))
    out: list[Difference] = []
    if original_files:
        for name in sorted(set(original_files) | set(now_files)):
            a, b = original_files.get(name), now_files.get(name)
            if a != b:
                where = f"file {name!r}" + (f" ({source})" if source else "")
                out.append(
                    Difference(where, f"sha256 {a}" if a else "absent", f"sha256 {b}" if b else "absent")
                )
    if not out and original_sha256 and original_sha256 != identity.get("sha256"):
        out.append(
            Difference(
                f"dataset {identity.get('name')!r} content",
                f"sha256 {original_sha256}",
                f"sha256 {identity.get('sha256')}",
            )
        )
    return out


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@dataclass
class Comparison:
    """The reproduction against the original."""

    metric: str
    original_value: float
    reproduced_value: float
    original_weights: str | None
    reproduced_weights: str | None
    tolerance: float = 0.0
    environment: list[Difference] = field(default_factory=list)
    data: list[Difference] = field(default_factory=list)

    @property
    def delta(self) -> float:
        """Reproduced minus original metric value."""
        return self.reproduced_value - self.original_value

    @property
    def metric_identical(self) -> bool:
        """Bit-for-bit the same metric value."""
        return _same(self.reproduced_value, self.original_value)

    @property
    def weights_identical(self) -> bool:
        """Same weight checksum (False when the original's is unknown)."""
        return self.original_weights is not None and self.original_weights == self.reproduced_weights

    @property
    def environment_matches(self) -> bool:
        """Same recorded environment, code version and data."""
        return not self.environment and not self.data

    @property
    def verdict(self) -> str:
        """``identical`` | ``within tolerance`` | ``mismatch``."""
        if self.metric_identical and self.weights_identical:
            return IDENTICAL
        if self.environment_matches:  # same everything: the numbers must be the same too
            unknown_weights = self.original_weights is None
            return WITHIN_TOLERANCE if self.metric_identical and unknown_weights else MISMATCH
        if math.isfinite(self.delta) and abs(self.delta) <= self.tolerance:
            return WITHIN_TOLERANCE
        return MISMATCH

    @property
    def ok(self) -> bool:
        """Whether the reproduction verifies the original."""
        return self.verdict != MISMATCH

    def report(self) -> str:
        """Human-readable lines: verdict, metric (and delta), weights, what differs."""
        lines = [f"verdict: {self.verdict}"]
        lines.append(
            f"  {self.metric}: original {self.original_value!r}, reproduced {self.reproduced_value!r}"
            + ("" if self.metric_identical else f" (delta {self.delta:+.6g}, tolerance {self.tolerance:g})")
        )
        same = "identical" if self.weights_identical else "DIFFERENT"
        lines.append(
            f"  weights sha256: original {self.original_weights or 'not recorded'}, "
            f"reproduced {self.reproduced_weights} ({same})"
        )
        if self.environment_matches:
            lines.append("  environment: matches (packages, BLAS library and threads, CPU, code, data)")
        for diff in self.environment:
            lines.append(f"  environment differs: {diff}")
        for diff in self.data:
            lines.append(f"  data differs: {diff}")
        if self.verdict == MISMATCH and self.environment_matches:
            lines.append("  the environment matches but the numbers do not: training is not deterministic")
        elif self.verdict == MISMATCH:
            lines.append(f"  |delta| exceeds --tolerance {self.tolerance:g}")
        return "\n".join(lines)

    def as_tags(self) -> dict[str, str]:
        """The comparison as MLflow tags of the reproduction run."""
        return {
            "nnexp.reproduction.verdict": self.verdict,
            "nnexp.reproduction.metric": self.metric,
            "nnexp.reproduction.metric_delta": repr(self.delta),
            "nnexp.reproduction.weights_match": str(self.weights_identical).lower(),
            "nnexp.reproduction.environment_match": str(self.environment_matches).lower(),
            "nnexp.reproduction.differences": json.dumps([str(d) for d in self.environment + self.data])[
                :4900
            ],
        }
