"""Tree-search nodes in flight: the coder records a node when its run starts (a ``running`` TreeNode and tree.json),
so the board counts running nodes, the idea page draws them with their own status, and the terminal view prints
a line when a node starts. A node still ``running`` when the run has ended is shown as interrupted."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from pipeline import new_run, stage, status, written
from rich.console import Console
from web_support import T0, append, get_json

from sciswarm.agents.tree.nodes import GOOD, RUNNING, Node, StageRecord, Tree, node_message
from sciswarm.view.board import Board
from sciswarm.view.terminal import LineFormatter
from sciswarm.view.watch import watch
from sciswarm.view.web import ViewerServer

RUN = "20260301-000000-tree"


def node_record(run_id: str, node: Node, t: float) -> dict[str, Any]:
    """The TreeNode the search publishes for ``node`` in its present state (node_message, as search.py publishes it)."""
    message = node_message(node)
    return written(message, run_id, "a", "coder", t)


def in_flight(run_dir: Path) -> list[dict[str, Any]]:
    """Two drafts started; n1 finished (good, on GPU 0) while n2 still runs; tree.json as the search saves it then."""
    n1 = Node("n1", "implementation", "draft", status=RUNNING, label="tree_n1", worker=1)
    n2 = Node("n2", "implementation", "draft", status=RUNNING, label="tree_n2", worker=2)
    out = [node_record(run_dir.name, n1, T0 + 1), node_record(run_dir.name, n2, T0 + 1.1)]
    n1.status, n1.metric, n1.wall_s, n1.slot = GOOD, 0.61, 2.0, "0"
    out.append(node_record(run_dir.name, n1, T0 + 3))
    tree = Tree(nodes=[n1, n2], stages=[StageRecord("implementation", run=1)])
    tree.save(run_dir / "ideas" / "a" / "tree.json")
    return out


def test_the_board_counts_running_nodes_until_they_finish_or_the_run_ends(tmp_path: Path) -> None:
    run_dir = tmp_path / RUN
    (run_dir / "ideas" / "a").mkdir(parents=True)
    records = stage(run_dir, "a", "idea") + in_flight(run_dir)
    board = Board()
    seen = []
    for rec in records:
        board.add(rec)
        if rec["kind"] == "tree_node":
            seen.append(board.card("a")["tree"])
    assert seen == [
        {"good": 0, "buggy": 0, "running": 1},
        {"good": 0, "buggy": 0, "running": 2},
        {"good": 1, "buggy": 0, "running": 1},  # n1 finished; n2 still in flight
    ]
    assert board.card("a")["stage"] == "experiments"
    board.add(status(RUN, "stopped", T0 + 5))  # the run ended with n2 unfinished: nothing runs any more
    assert board.card("a")["tree"] == {"good": 1, "buggy": 0, "running": 0}


def test_the_idea_page_draws_a_running_node_and_an_interrupted_one_once_the_run_ended(
    server: ViewerServer, runs: Path
) -> None:
    run_dir = new_run(runs, RUN, pid=os.getpid())
    (run_dir / "ideas" / "a").mkdir(parents=True)
    append(run_dir, *stage(run_dir, "a", "idea"), *in_flight(run_dir))
    page = get_json(server.url + f"api/runs/{RUN}/ideas/a")
    drawn = {n["id"]: n for n in page["tree"]["nodes"]}
    assert (drawn["n1"]["status"], drawn["n1"]["slot"]) == ("good", "0")
    assert (drawn["n2"]["status"], drawn["n2"]["worker"]) == ("running", 2)
    assert page["card"]["tree"] == {"good": 1, "buggy": 0, "running": 1}
    (card,) = get_json(server.url + f"api/runs/{RUN}/board")["ideas"]
    assert card["tree"]["running"] == 1
    append(run_dir, status(RUN, "stopped", T0 + 9))
    page = get_json(server.url + f"api/runs/{RUN}/ideas/a")
    assert {n["id"]: n["status"] for n in page["tree"]["nodes"]} == {"n1": "good", "n2": "interrupted"}
    assert page["card"]["tree"]["running"] == 0


def test_the_terminal_prints_a_line_when_a_node_starts(tmp_path: Path) -> None:
    run_dir = new_run(tmp_path, RUN, pid=os.getpid())
    (run_dir / "ideas" / "a").mkdir(parents=True)
    records = in_flight(run_dir)
    line = LineFormatter().format(records[1])
    assert line is not None and "tree_node tree implementation n2 (draft): started, running (worker 2)" in line.plain
    append(run_dir, *records, status(RUN, "completed", T0 + 9))
    console = Console(file=io.StringIO(), width=200, color_system=None)
    watch(run_dir, console, follow=False)
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    assert "tree implementation n1 (draft): started, running (worker 1)" in printed
    assert "tree implementation n1 (draft): good, metric 0.61 in 2.0s on GPU 0" in printed
