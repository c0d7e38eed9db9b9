"""Comparative claims: the model reads them out of the text into this structure; code decides if they hold.

The model never judges which number is larger. It only says who is compared with whom, on which metric and
dataset, and in which direction the text says the values go ("lower KL" is ``less``; "better accuracy" is
``greater``). Verification reads the measurements: with seeds on both sides a difference must be significant
(Welch's t-test, p < 0.05) for the claim to be supported, and "no difference" needs p >= 0.05; with one run
each, only the direction can be checked, and the claim is marked untested.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from sciswarm.evidence.measurements import Measurement, Results
from sciswarm.evidence.stats import compare

Relation = Literal["greater", "less", "highest", "lowest", "no_difference"]
Verdict = Literal["supported", "untested", "contradicted", "not_significant", "unresolved"]


class Magnitude(BaseModel):
    value: float
    unit: Literal["percent", "absolute", "times"] = "absolute"


class Claim(BaseModel):
    """One comparative statement as the text makes it."""

    quote: str = Field(description="the words of the paper that make the claim, verbatim")
    part: str = Field(default="", description="the section it is in")
    relation: Relation = Field(
        description="greater/less: subject's value is higher/lower than other's; highest/lowest: among all "
        "runs; no_difference: the text says they do not differ"
    )
    subject: str = Field(description="a run id such as run_2 (run_0 is the baseline)")
    other: str | None = Field(default=None, description="the run it is compared with; none for highest/lowest")
    metric: str
    dataset: str = Field(default="all", description="a dataset name, or 'all' when the claim is for every dataset")
    magnitude: Magnitude | None = Field(default=None, description="'by 12%' -> 12 percent; '2x' -> 2 times")


class ClaimList(BaseModel):
    claims: list[Claim] = Field(default_factory=list)


class CheckedClaim(BaseModel):
    claim: Claim
    verdict: Verdict
    evidence: str


def run_number(name: str | None) -> int | None:
    if name is None:
        return None
    low = name.strip().lower()
    if low in {"baseline", "the baseline", "run 0", "run_0"}:
        return 0
    m = re.fullmatch(r"run[ _-]?(\d+)", low)
    return int(m.group(1)) if m else None


def _resolve(name: str, options: list[str]) -> str | None:
    low = name.strip().lower()
    for opt in options:
        if opt.lower() == low:
            return opt
    close = [o for o in options if low in o.lower() or o.lower() in low]
    return close[0] if len(close) == 1 else None


def _magnitude_holds(mag: Magnitude, a: Measurement, b: Measurement) -> tuple[bool, str]:
    stated = abs(mag.value)
    text = f"{mag.value:g}"
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    tol = 0.5 * 10.0 ** (-decimals) + 0.02 * stated  # rounding of the stated figure, and a 2 % slack
    if mag.unit == "percent":
        if b.mean == 0:
            return False, "a relative change from 0 is undefined"
        actual = 100.0 * abs(a.mean - b.mean) / abs(b.mean)
        return abs(actual - stated) <= tol, f"actual relative change {actual:.3g}%"
    if mag.unit == "times":
        if b.mean == 0:
            return False, "a ratio to 0 is undefined"
        ratios = [abs(a.mean / b.mean)] + ([abs(b.mean / a.mean)] if a.mean else [])
        best = min(ratios, key=lambda r: abs(r - stated))
        return abs(best - stated) <= tol, f"actual ratio {best:.3g}x"
    actual = abs(a.mean - b.mean)
    return abs(actual - stated) <= tol, f"actual difference {actual:.4g}"


def _pair(claim: Claim, a: Measurement, b: Measurement) -> tuple[Verdict, str]:
    c = compare(a, b)
    name = f"run_{a.run} vs run_{b.run} on {a.dataset} {a.metric}: {c.describe()}"
    if claim.relation == "no_difference":
        if c.significant is None:
            return "untested", f"{name}; with one run each, 'no difference' cannot be tested"
        if c.significant:
            return "contradicted", f"{name}: the difference is significant"
        return "supported", name
    goes = "greater" if c.diff > 0 else "less" if c.diff < 0 else "equal"
    if goes != claim.relation:
        return "contradicted", f"{name}: run_{a.run} is {'equal to' if goes == 'equal' else goes + ' than'} run_{b.run}"
    if claim.magnitude is not None:
        holds, actual = _magnitude_holds(claim.magnitude, a, b)
        if not holds:
            unit = {"percent": "%", "absolute": "", "times": "x"}[claim.magnitude.unit]
            return "contradicted", f"{name}: the text says {claim.magnitude.value:g}{unit}, {actual}"
    if c.significant is None:
        return "untested", f"{name}; the direction is right"
    if not c.significant:
        return "not_significant", f"{name}: not significant, so the text must say there is no significant difference"
    return "supported", name


def _extreme(claim: Claim, results: Results, a: Measurement) -> tuple[Verdict, str]:
    rivals = [m for m in results.across_runs(a.dataset, a.metric) if m.run != a.run]
    if not rivals:
        return "unresolved", f"no other run has {a.metric} on {a.dataset}"
    pick = max if claim.relation == "highest" else min
    best = pick([a, *rivals], key=lambda m: m.mean)
    listing = ", ".join(f"run_{m.run} {m.describe()}" for m in sorted([a, *rivals], key=lambda m: m.run))
    where = f"{a.metric} on {a.dataset}: {listing}"
    if best.run != a.run:
        return "contradicted", f"{where}: the {claim.relation} is run_{best.run}, not run_{a.run}"
    runner_up = pick(rivals, key=lambda m: m.mean)
    c = compare(a, runner_up)
    if c.significant is None:
        return "untested", f"{where}; single runs: no significance test"
    if not c.significant:
        return "not_significant", f"{where}; not significantly apart from run_{runner_up.run} (Welch p={c.p_value:.3g})"
    return "supported", where


def verify(claim: Claim, results: Results) -> CheckedClaim:
    def done(verdict: Verdict, evidence: str) -> CheckedClaim:
        return CheckedClaim(claim=claim, verdict=verdict, evidence=evidence)

    subject = run_number(claim.subject)
    metric = _resolve(claim.metric, results.metrics)
    if subject is None or subject not in results.runs:
        return done("unresolved", f"'{claim.subject}' is not a run with results (runs: {results.runs})")
    if metric is None:
        return done("unresolved", f"'{claim.metric}' is not a measured metric (metrics: {', '.join(results.metrics)})")
    if claim.dataset.strip().lower() in {"all", "every", "each", "", "*"}:
        datasets = results.datasets
    else:
        one = _resolve(claim.dataset, results.datasets)
        if one is None:
            return done("unresolved", f"'{claim.dataset}' is not a dataset (datasets: {', '.join(results.datasets)})")
        datasets = [one]
    pairwise = claim.relation in {"greater", "less", "no_difference"}
    other = run_number(claim.other) if pairwise else None
    if pairwise and (other is None or other not in results.runs):
        return done("unresolved", f"'{claim.other}' is not a run with results to compare with (runs: {results.runs})")
    outcomes: list[tuple[Verdict, str]] = []
    for ds in datasets:
        a = results.get(subject, ds, metric)
        b = results.get(other, ds, metric) if other is not None else None
        if a is None or (pairwise and b is None):
            outcomes.append(("unresolved", f"{metric} on {ds} is missing for a run of the claim"))
        elif not a.finite or (b is not None and not b.finite):
            outcomes.append(("unresolved", f"{metric} on {ds} is not finite (NaN or infinite) for a run of the claim"))
        else:
            outcomes.append(_pair(claim, a, b) if b is not None else _extreme(claim, results, a))
    order: list[Verdict] = ["contradicted", "not_significant", "unresolved", "untested", "supported"]
    worst = min(outcomes, key=lambda o: order.index(o[0]))[0]
    evidence = "; ".join(text for verdict, text in outcomes if verdict == worst or len(outcomes) == 1)
    return done(worst, evidence)
