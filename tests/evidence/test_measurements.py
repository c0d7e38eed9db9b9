"""final_info.json as AI-Scientist templates write it (means with a _mean suffix, stderrs with a _stderr one,
final_info_dict beside) and as models rewrite it (nested objects of metrics, a flat entry without means): every
metric and stderr is read, the results table shows a run's stderr and says so, and the audit traces it."""

from __future__ import annotations

import json
from pathlib import Path

from sciswarm.evidence import Results, aggregate_seeds, find_numbers
from sciswarm.evidence.measurements import measurements_of
from sciswarm.evidence.tracing import result_sources, trace
from sciswarm.paper.results_table import results_table


def nanogpt_info(train: float, val: float, train_se: float, val_se: float) -> dict[str, object]:
    """What AI-Scientist's nanoGPT template writes after its own three seeds."""
    return {
        "shakespeare_char": {
            "means": {"final_train_loss_mean": train, "best_val_loss_mean": val, "total_train_time_mean": 96.48},
            "stderrs": {"final_train_loss_stderr": train_se, "best_val_loss_stderr": val_se},
            "final_info_dict": {"final_train_loss": [train - 0.01, train, train + 0.01], "best_val_loss": [val] * 3},
        },
        # a model's rewrite: no "means", metrics nested in objects
        "enwik8": {"final_train_loss_mean": 0.9312, "nested": {"a": 1, "attention": {"entropy": 2.25}}},
    }


def workspace(tmp_path: Path) -> Path:
    for run, info in enumerate(
        [nanogpt_info(0.8083, 1.4693, 0.0042, 0.0021), nanogpt_info(0.7911, 1.4402, 0.0038, 0.0017)]
    ):
        (tmp_path / f"run_{run}").mkdir()
        (tmp_path / f"run_{run}" / "final_info.json").write_text(json.dumps(info))
    return tmp_path


def test_means_stderrs_and_nested_metrics_are_read(tmp_path: Path) -> None:
    results = Results.from_workspace(workspace(tmp_path))
    loss = results.get(0, "shakespeare_char", "final_train_loss_mean")
    assert loss is not None and loss.values == (0.8083,) and loss.stderr == 0.0042 and loss.std is None
    assert loss.describe() == "0.8083 ± 0.0042 (reported stderr)"
    time = results.get(1, "shakespeare_char", "total_train_time_mean")
    assert time is not None and time.stderr is None  # no stderr reported for it
    assert results.get(1, "enwik8", "nested.attention.entropy").mean == 2.25  # type: ignore[union-attr]
    assert results.get(0, "enwik8", "nested.a").mean == 1.0  # type: ignore[union-attr]
    assert set(results.metrics) == {
        "final_train_loss_mean",
        "best_val_loss_mean",
        "total_train_time_mean",
        "nested.a",
        "nested.attention.entropy",
    }  # means unwrapped; final_info_dict's per-seed lists are not metrics


def test_the_results_table_shows_a_reported_stderr_and_says_which_it_is(tmp_path: Path) -> None:
    table = results_table(workspace(tmp_path), [0, 1])
    assert table is not None
    assert "0.808 $\\pm$ 0.004 & 1.469 $\\pm$ 0.002 & 96.480" in table
    assert (
        "Values after $\\pm$: the standard error reported by the run itself (its final\\_info.json stderrs)." in table
    )
    assert "nested.attention.entropy" in table and "standard deviation" not in table


def test_a_number_equal_to_a_reported_stderr_traces_to_it(tmp_path: Path) -> None:
    results = Results.from_workspace(workspace(tmp_path))
    sources = result_sources(results)

    def source_of(sentence: str, value: float) -> str | None:
        (n,) = [m for m in find_numbers(sentence) if m.value == value]
        src = trace(n, sources, results)
        return f"{src.kind}: {src.label}" if src else None

    said = "On shakespeare\\_char the best validation loss of the ReLU run is 1.4402 $\\pm$ 0.0017."
    assert source_of(said, 1.4402) == "results: run_1 shakespeare_char best_val_loss_mean (mean)"
    assert source_of(said, 0.0017) == "results: run_1 shakespeare_char best_val_loss_mean (reported stderr)"
    assert source_of(said.replace("0.0017", "0.0077"), 0.0077) is None  # a stderr no run reported


def test_seeds_aggregate_nested_metrics_in_the_shape_they_were_written() -> None:
    per_seed = [
        {"toy": {"means": {"loss": loss, "probe": {"acc": acc}}}, "flat": {"score": acc, "extra": {"k": 2}}}
        for loss, acc in ((0.5, 0.75), (0.7, 0.25))
    ]
    agg = aggregate_seeds(per_seed)
    assert agg["toy"]["means"] == {"loss": 0.6, "probe": {"acc": 0.5}}  # plot.py reads means["probe"]["acc"]
    assert agg["toy"]["values"] == {"loss": [0.5, 0.7], "probe.acc": [0.75, 0.25]} and agg["toy"]["n"] == 2
    assert agg["flat"]["score"] == 0.5 and agg["flat"]["extra"] == {"k": 2.0}  # a flat entry stays flat
    read = {(m.dataset, m.metric): m for m in measurements_of(1, agg)}
    assert read["toy", "probe.acc"].values == (0.75, 0.25) and read["flat", "extra.k"].n == 2
    assert read["toy", "probe.acc"].std is not None
