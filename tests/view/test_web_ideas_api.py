"""An idea's page and the compare view as JSON: what the records and the idea's folder say."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline import new_run, revised, stage, tree_search, whole
from web_support import T0, append, get, get_json

from sciswarm.view.web import ViewerServer

RUN = "20260301-000000-ideas"


def test_an_idea_page_has_every_part(server: ViewerServer, runs: Path) -> None:
    run_dir = new_run(runs, RUN, pid=os.getpid())
    append(run_dir, *whole(run_dir, "label_smoothing", overall=7), *revised(run_dir, "label_smoothing", T0 + 9))
    page = get_json(server.url + f"api/runs/{RUN}/ideas/label_smoothing")
    assert page["idea"]["title"] == "Label Smoothing Helps Small MLPs Generalize"
    assert page["novelty"]["verdict"] == "novel" and len(page["novelty"]["compared"]) == 2
    assert page["plan"] == ["smoothing 0.1", "smoothing 0.2"]
    runs_ = page["runs"]
    assert [(r["run"], r["attempt"], r["ok"], r["baseline"]) for r in runs_["rows"]] == [
        (0, 1, True, True),
        (1, 1, True, False),
        (2, 1, False, False),
        (2, 2, True, False),
    ]
    assert runs_["rows"][0]["metrics"]["toy"]["accuracy"] == {"mean": 0.5, "std": 0.02, "n": 3}
    assert runs_["rows"][1]["metrics"]["toy"]["accuracy"] == {"mean": 0.62, "std": 0.01, "n": 3}
    assert runs_["rows"][2]["error"] == "IndexError: index 9 is out of bounds" and not runs_["rows"][2]["metrics"]
    assert runs_["lower_is_better"] == {"accuracy": False, "train_time": True}
    (figure,) = page["figures"]
    assert figure["path"] == "ideas/label_smoothing/workspace/accuracy.png" and "3 seeds" in figure["caption"]
    assert get(server.url + f"api/runs/{RUN}/files/{figure['path']}")[1].startswith(b"\x89PNG")
    assert [(p["revision"], p["pdf"]) for p in page["papers"]] == [
        (0, "ideas/label_smoothing/paper/paper_rev0.pdf"),
        (1, "ideas/label_smoothing/paper/paper_rev1.pdf"),
    ]
    assert [p["gave_up"] for p in page["papers"]] == ["", "revise/Results: ModelCallError: provider down"]
    assert page["revisions"] == [{"revision": 1, "requests": ["Add a second dataset."]}]
    assert [r["reviewer"] for r in page["reviews"]] == ["reviewer_1", "reviewer_2", "reviewer_3"]
    (meta,) = page["meta_reviews"]
    assert (meta["review"]["Overall"], meta["review"]["Decision"], meta["n_reviews"]) == (7, "Accept", 3)
    audit = page["audit"]
    assert audit["message"]["remaining"] == ["the number 0.99 is untraced"]
    assert [c["claim"]["quote"] for c in audit["flagged"]] == ["halving beats doubling"]
    assert [n["text"] for n in audit["untraced"]] == ["0.99"]
    assert page["tree"] is None and page["failures"] == []
    assert page["card"]["stage"] == "writing" and page["card"]["outcome"] == "done"


def test_the_experiment_tree_and_its_nodes(server: ViewerServer, runs: Path) -> None:
    run_dir = new_run(runs, RUN, pid=os.getpid())
    append(run_dir, *stage(run_dir, "a", "idea"))
    idea_dir = run_dir / "ideas" / "a"
    (idea_dir / "logs").mkdir(parents=True)
    (idea_dir / "logs" / "n1.log").write_text("x" * 300_000 + "the end\n")
    nodes = [
        {"id": 0, "parent": None, "stage": "draft", "operator": "draft", "status": "buggy", "diff": "-a\n+b"},
        {
            "id": "n1",
            "parent": 0,
            "stage": "draft",
            "operator": "debug",
            "status": "good",
            "metric": 0.7,
            "log_path": "logs/n1.log",
            "wall_s": 3.5,
            "extra": {"nested": True},
        },
    ]
    (idea_dir / "tree.json").write_text(json.dumps({"nodes": nodes}))
    tree = get_json(server.url + f"api/runs/{RUN}/ideas/a")["tree"]
    assert [(n["id"], n["parent"], n["status"], n["metric"]) for n in tree["nodes"]] == [
        ("0", None, "buggy", None),
        ("n1", "0", "good", 0.7),
    ]
    assert tree["nodes"][0]["texts"] == ["diff"] and tree["nodes"][1]["texts"] == ["log"]
    assert "extra" not in tree["nodes"][1] and tree["nodes"][1]["wall_s"] == 3.5
    assert get_json(server.url + f"api/runs/{RUN}/ideas/a/tree/0")["texts"] == {"diff": "-a\n+b"}
    log = get_json(server.url + f"api/runs/{RUN}/ideas/a/tree/n1")["texts"]["log"]
    assert log.startswith("[...]") and log.endswith("the end\n") and len(log) < 250_000  # the tail of a long log
    assert get(server.url + f"api/runs/{RUN}/ideas/a/tree/nope")[0] == 404
    (idea_dir / "tree.json").write_text("{torn")
    assert get_json(server.url + f"api/runs/{RUN}/ideas/a")["tree"] is None
    assert get(server.url + f"api/runs/{RUN}/ideas/nope")[0] == 404


def test_compare_ideas_and_runs(server: ViewerServer, runs: Path) -> None:
    one = new_run(runs, "20260301-000000-one", pid=os.getpid(), name="first")
    two = new_run(runs, "20260302-000000-two", pid=os.getpid(), name="second")
    append(one, *whole(one, "a", overall=7), *whole(one, "b", overall=4))
    append(two, *whole(two, "c", overall=5))
    items = "item=20260301-000000-one/a&item=20260302-000000-two/c,20260302-000000-two&item=nope/x"
    got = get_json(server.url + f"api/compare?{items}")
    assert got["missing"] == ["nope/x"]
    a, c, run = got["items"]
    assert (a["kind"], a["run_name"], a["card"]["id"], a["scores"]["Overall"], a["scores"]["Decision"]) == (
        "idea",
        "first",
        "a",
        7,
        "Accept",
    )
    assert a["card"]["best"]["value"] == 0.62 and a["card"]["tokens"] == 3000
    assert c["scores"]["Overall"] == 5 and c["scores"]["Originality"] == 2
    assert (run["kind"], run["ideas"], run["done"], run["papers"], run["best_overall"]) == ("run", 1, 1, 1, 5)
    assert run["best"][0]["idea"] == "c" and run["tokens"] == 3000


def test_a_tree_search_idea_page(server: ViewerServer, runs: Path) -> None:
    run_dir = new_run(runs, RUN, pid=os.getpid())
    append(run_dir, *stage(run_dir, "a", "idea"), *tree_search(run_dir, "a"))
    page = get_json(server.url + f"api/runs/{RUN}/ideas/a")
    assert page["objective"] == {"metric": "accuracy", "direction": "max", "datasets": "mean"}
    tree = page["tree"]
    assert [(n["id"], n["parent"], n["operator"], n["status"], n["metric"]) for n in tree["nodes"]] == [
        ("n1", None, "draft", "buggy", None),
        ("n2", "n1", "debug", "good", 0.6),
        ("n3", "n2", "improve", "good", 0.66),
    ]
    assert tree["nodes"][0]["texts"] == ["diff", "plan", "error", "logs"]
    (record,) = tree["stages"]
    assert (record["best"], record["search_value"], record["rerun_value"], record["rerun_seeds"]) == (
        "n3",
        0.66,
        0.63,
        3,
    )
    rerun = page["runs"]["rows"][-1]
    assert rerun["label"] == "run_1 · implementation: n3 re-run"
    assert rerun["metrics"]["toy"]["accuracy"] == {"mean": 0.63, "std": 0.01, "n": 3}
    assert page["runs"]["lower_is_better"] == {"accuracy": False, "train_time": True}
    node = get_json(server.url + f"api/runs/{RUN}/ideas/a/tree/n1")
    assert node["texts"]["stderr"].endswith("KeyError: 'smooth'\n")  # the lab's logs/<label>/ of the node's run
    assert node["texts"]["diff"].startswith("-loss") and node["texts"]["error"] == "KeyError: 'smooth'"
    card = get_json(server.url + f"api/runs/{RUN}/board")["ideas"][0]
    assert card["tree"] == {"good": 2, "buggy": 1, "running": 0}
    assert (card["best"]["source"], card["best"]["run"], card["best"]["value"]) == ("run", 1, 0.63)  # the re-run


def test_the_objective_comes_from_the_run_config(server: ViewerServer, runs: Path) -> None:
    run_dir = new_run(runs, RUN, pid=os.getpid())
    meta = json.loads((run_dir / "run.json").read_text())
    tree = {
        "strategy": "tree",
        "tree": {"objective": {"metric": "train_time", "direction": "min", "datasets": ["toy"]}},
    }
    meta["config"] = {"roles": [{"name": "ideator", "params": {}}, {"name": "coder", "params": tree}]}
    (run_dir / "run.json").write_text(json.dumps(meta))
    append(run_dir, *whole(run_dir, "a"))
    best = get_json(server.url + f"api/runs/{RUN}/board")["ideas"][0]["best"]
    assert (best["metric"], best["dataset"], best["lower_is_better"], best["objective"]) == (
        "train_time",
        "toy",
        True,
        True,
    )
    assert (best["run"], best["value"], best["baseline"], best["better"]) == (2, 1.1, 1.0, False)
