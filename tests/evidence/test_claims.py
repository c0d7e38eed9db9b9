"""Comparative claims verified by code against the measurements, with Welch's t-test when there are seeds."""

from __future__ import annotations

import pytest

from sciswarm.evidence import Claim, Measurement, Results, aggregate_seeds, seeds_ignored, verify, welch_p


def results(seeded: bool) -> Results:
    # kl: run_1 clearly lower than run_0; run_2 a hair above run_0 (noise)
    values = {
        0: {"dino": [0.40, 0.41, 0.39], "moons": [0.10, 0.11, 0.09]},
        1: {"dino": [0.30, 0.31, 0.29], "moons": [0.05, 0.06, 0.05]},
        2: {"dino": [0.41, 0.38, 0.43], "moons": [0.12, 0.08, 0.11]},
    }
    out = []
    for run, per in values.items():
        for ds, vals in per.items():
            out.append(Measurement(run, ds, "kl", tuple(vals) if seeded else (sum(vals) / 3,)))
    return Results(out)


def claim(relation: str, subject: str, other: str | None = None, dataset: str = "dino", **kw: object) -> Claim:
    return Claim.model_validate(
        {
            "quote": "q",
            "relation": relation,
            "subject": subject,
            "other": other,
            "metric": "kl",
            "dataset": dataset,
            **kw,
        }
    )


@pytest.mark.parametrize(
    ("made", "seeded", "verdict"),
    [
        (claim("less", "run_1", "baseline"), True, "supported"),
        (claim("less", "run_1", "run_0"), False, "untested"),  # direction right, one run each
        (claim("greater", "run_1", "run_0"), True, "contradicted"),  # the direction is wrong
        (claim("greater", "run_2", "run_0"), True, "not_significant"),  # "better" with p >= 0.05
        (claim("no_difference", "run_2", "run_0"), True, "supported"),
        (claim("no_difference", "run_1", "run_0"), True, "contradicted"),
        (claim("no_difference", "run_2", "run_0"), False, "untested"),
        (claim("lowest", "run_1"), True, "supported"),
        (claim("lowest", "run_2"), True, "contradicted"),
        (claim("highest", "run_2"), True, "not_significant"),  # above run_0, but not significantly
        (claim("less", "run_1", "run_0", dataset="all"), True, "supported"),
        (claim("less", "run_2", "run_0", dataset="all"), True, "contradicted"),  # holds on neither
        (claim("less", "run_7", "run_0"), True, "unresolved"),
        (claim("less", "run_1", "run_0", dataset="swiss roll"), True, "unresolved"),
    ],
)
def test_verdicts(made: Claim, seeded: bool, verdict: str) -> None:
    checked = verify(made, results(seeded))
    assert checked.verdict == verdict, checked.evidence


def test_a_percentage_must_follow_from_the_values() -> None:
    # dino kl 0.30 vs 0.40: 25 % lower
    good = verify(claim("less", "run_1", "run_0", magnitude={"value": 25, "unit": "percent"}), results(True))
    bad = verify(claim("less", "run_1", "run_0", magnitude={"value": 40, "unit": "percent"}), results(True))
    assert good.verdict == "supported"
    assert bad.verdict == "contradicted" and "actual relative change 25%" in bad.evidence


def test_the_evidence_quotes_the_numbers_and_the_test() -> None:
    checked = verify(claim("greater", "run_2", "run_0"), results(True))
    assert "run_2 vs run_0 on dino kl" in checked.evidence and "Welch p=" in checked.evidence
    assert "± " in checked.evidence and "(n=3)" in checked.evidence


def test_welch_and_the_seed_aggregate() -> None:
    assert welch_p((1.0,), (2.0, 3.0)) is None
    assert welch_p((1.0, 1.0), (1.0, 1.0)) == 1.0
    p = welch_p((0.30, 0.31, 0.29), (0.40, 0.41, 0.39))
    assert p is not None and p < 0.001
    seeds = [{"d": {"means": {"kl": 0.3, "loss": 1.0}}}, {"d": {"means": {"kl": 0.5, "loss": 1.0}}}]
    agg = aggregate_seeds(seeds)
    assert agg["d"]["means"]["kl"] == pytest.approx(0.4) and agg["d"]["n"] == 2
    assert agg["d"]["values"]["kl"] == [0.3, 0.5] and agg["d"]["stds"]["loss"] == 0.0
    assert not seeds_ignored(seeds) and seeds_ignored([seeds[0], seeds[0]])
