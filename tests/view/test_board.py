"""The research board (view/board.py): a pure fold over transcript records, one card per idea."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pipeline import BASELINE, means, stage, status, tree_search, whole
from web_support import T0

from sciswarm.view.board import STAGES, Board, board_of
from sciswarm.view.metrics import lower_is_better, means_of


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    d = tmp_path / "r1"
    (d / "ideas").mkdir(parents=True)
    return d


def card_of(records: list[dict[str, Any]], idea: str, baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    board = board_of(records, {idea: baseline} if baseline else None)
    (card,) = [c for c in board["ideas"] if c["id"] == idea]
    return card


def test_the_stage_advances_with_the_messages(run_dir: Path) -> None:
    board = Board()
    seen = []
    for name in STAGES:
        for rec in stage(run_dir, "a", name):
            board.add(rec)
        seen.append(board.card("a")["stage"])
    assert seen == list(STAGES)
    assert board.card("a")["stage_index"] == 4


def test_a_finished_idea_card(run_dir: Path) -> None:
    records = whole(run_dir, "a", overall=7)
    card = card_of(records, "a", means(BASELINE))
    assert card["title"] == "A Study of a" and card["novelty"] == "novel"
    assert (card["runs_done"], card["runs_failed"], card["in_flight"]) == (2, 1, 0)
    assert (card["papers"], card["reviews"], card["overall"], card["decision"]) == (1, 3, 7, "Accept")
    assert card["tokens"] == 3 * 1000 and card["calls"] == 3  # the model calls of this idea only
    assert card["outcome"] == "done"  # the meta-review is its end (run/outcome.py's judgement)
    best = card["best"]
    # no objective: the first metric of the first dataset; accuracy goes up, the best run is run_1
    assert (best["dataset"], best["metric"], best["lower_is_better"]) == ("toy", "accuracy", False)
    assert (best["run"], best["value"], best["baseline"], best["better"]) == (1, 0.62, 0.50, True)
    assert best["relative"] == pytest.approx(0.24)


def test_without_a_baseline_the_best_run_is_shown_alone(run_dir: Path) -> None:
    best = card_of(whole(run_dir, "a"), "a")["best"]
    assert best["value"] == 0.62 and best["baseline"] is None and "delta" not in best


def test_an_objective_names_the_metric_and_direction(run_dir: Path) -> None:
    start = {"kind": "start", "idea_id": "swarm", "objective": {"metric": "train_time", "direction": "maximize"}}
    best = card_of([start, *whole(run_dir, "a")], "a", means(BASELINE))["best"]
    # the objective's direction wins over the guess from the name (a time goes down)
    assert (best["metric"], best["lower_is_better"], best["run"], best["value"]) == ("train_time", False, 1, 1.2)
    assert best["better"] is True
    plain = card_of(whole(run_dir, "a"), "a", means(BASELINE))
    assert plain["best"]["metric"] == "accuracy"


def test_runs_in_flight_and_slots(run_dir: Path) -> None:
    board = Board()
    board.add({"kind": "log", "idea_id": "swarm", "text": "experiments run at most 2 at a time"})
    for idea in ("a", "b", "c"):
        board.add({"kind": "code_change", "idea_id": idea, "run": 1, "attempt": 1})
    assert board.slots() == {"in_flight": 3, "limit": 2, "busy": 2, "free": 0, "queued": 1}
    board.add({"kind": "experiment_run", "idea_id": "a", "run": 1, "attempt": 1, "ok": True, "results": {}})
    board.add({"kind": "experiment_run", "idea_id": "b", "run": 1, "attempt": 1, "ok": False})
    assert board.slots() == {"in_flight": 1, "limit": 2, "busy": 1, "free": 1, "queued": 0}
    assert board.card("b")["runs_failed"] == 1 and board.card("c")["in_flight"] == 1
    unbounded = Board()
    unbounded.add({"kind": "code_change", "idea_id": "a", "run": 1})
    assert unbounded.slots() == {"in_flight": 1, "limit": None}  # no bound logged: runs in flight only


def test_outcomes_live_and_final(run_dir: Path) -> None:
    board = Board()
    for rec in stage(run_dir, "a", "idea") + stage(run_dir, "b", "idea") + stage(run_dir, "c", "idea"):
        board.add(rec)
    board.add({"kind": "novelty", "idea_id": "b", "verdict": "not novel", "proceed": False})
    board.add({"kind": "role_failed", "idea_id": "c", "role": "coder", "error": "no runs", "on_kind": "novelty"})
    assert [board.card(i)["outcome"] for i in "abc"] == ["running", "dropped", "failed"]
    assert board.card("c")["detail"].startswith("coder: no runs")
    board.add(status("r1", "stopped", T0 + 9))  # a stop without outcomes: ideas not ended are unfinished
    assert board.card("a")["outcome"] == "unfinished"
    final = {"a": {"outcome": "failed", "stage": "idea", "detail": "ran out of budget"}}
    board.add(status("r1", "stopped", T0 + 10, final))
    assert (board.card("a")["outcome"], board.card("a")["detail"]) == ("failed", "ran out of budget")


def test_versions_change_only_with_the_idea(run_dir: Path) -> None:
    board = Board()
    for rec in stage(run_dir, "a", "idea") + stage(run_dir, "b", "idea"):
        board.add(rec)
    a, b = board.card("a")["version"], board.card("b")["version"]
    board.add({"kind": "output", "idea_id": "a", "line": "epoch 1"})  # output lines change nothing
    board.add({"kind": "novelty", "idea_id": "a", "verdict": "novel"})
    assert board.card("a")["version"] > a and board.card("b")["version"] == b


def test_helpers() -> None:
    assert lower_is_better("val_loss") and lower_is_better("kl_divergence") and lower_is_better("training_time")
    assert not lower_is_better("accuracy") and not lower_is_better("score") and not lower_is_better("reward")
    assert means_of({"d": {"means": {"m": 1, "bad": "x", "nan": float("nan")}}, "e": {"m": 2.5}, "f": 3}) == {
        "d": {"m": 1.0},
        "e": {"m": 2.5},
    }
    assert board_of([])["ideas"] == [] and board_of([])["stages"] == list(STAGES)


def test_a_tree_search_idea(run_dir: Path) -> None:
    records = stage(run_dir, "a", "idea") + tree_search(run_dir, "a")
    board = Board()
    for rec in records:
        board.add(rec)
    board.objective = {"metric": "accuracy", "direction": "max", "datasets": "mean"}  # what RunState finds
    card = board.card("a", means(BASELINE))
    assert card["stage"] == "experiments" and card["tree"] == {"good": 2, "buggy": 1, "running": 0}
    # no run measured yet: the best node's search value, marked as such
    assert (card["best"]["source"], card["best"]["node"], card["best"]["value"]) == ("search", "n3", 0.66)
    measured = board.card("a", means(BASELINE), disk={1: {"toy": {"accuracy": 0.63}}})["best"]
    # the stage's best re-run with fresh seeds wins over the optimistic search value
    assert (measured["source"], measured["run"], measured["value"], measured["baseline"]) == ("run", 1, 0.63, 0.5)
    assert measured["objective"] and measured["dataset"] == "mean over datasets" and not measured["lower_is_better"]
