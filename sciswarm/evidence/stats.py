"""Comparing two measurements: the difference, the relative change, and Welch's t-test when both have seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sciswarm.evidence.measurements import Measurement

ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    a: Measurement
    b: Measurement
    diff: float  # a.mean - b.mean
    relative_pct: float | None  # 100 * diff / |b.mean|; None when b.mean is 0
    p_value: float | None  # Welch's t-test; None without seeds on both sides

    @property
    def tested(self) -> bool:
        return self.p_value is not None

    @property
    def significant(self) -> bool | None:
        return None if self.p_value is None else self.p_value < ALPHA

    def describe(self) -> str:
        test = f", Welch p={self.p_value:.3g}" if self.p_value is not None else ", single run each: no test"
        rel = f" ({self.relative_pct:+.1f}%)" if self.relative_pct is not None else ""
        return f"{self.a.describe()} vs {self.b.describe()}: difference {self.diff:+.4g}{rel}{test}"


def welch_p(a: tuple[float, ...], b: tuple[float, ...]) -> float | None:
    """Two-sided p-value of Welch's t-test; None when a side has fewer than two values or a value is not
    finite. Both sides constant: 1.0 if equal, else 0.0 (scipy gives NaN there)."""
    if len(a) < 2 or len(b) < 2 or not all(math.isfinite(v) for v in (*a, *b)):
        return None
    if len(set(a)) == 1 and len(set(b)) == 1:
        return 1.0 if a[0] == b[0] else 0.0
    from scipy import stats

    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return p if math.isfinite(p) else None


def compare(a: Measurement, b: Measurement) -> Comparison:
    diff = a.mean - b.mean
    relative = 100.0 * diff / abs(b.mean) if b.mean != 0 and math.isfinite(b.mean) else None
    return Comparison(a, b, diff, relative, welch_p(a.values, b.values))
