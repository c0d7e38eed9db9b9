"""The viewer's JSON API over real HTTP on loopback: runs, run.json, transcript pages with offsets and filters,
and the read-only rule (no write endpoint)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from web_support import T0, append, get, get_json, make_run, rec, records

from sciswarm.view.render import summarize
from sciswarm.view.web import ViewerServer


def test_binds_loopback_and_serves_the_app(server: ViewerServer) -> None:
    assert server.url.startswith("http://127.0.0.1:") and server.port > 0
    code, body, headers = get(server.url)
    assert code == 200 and b"sciswarm" in body and headers["Content-Type"].startswith("text/html")
    assert "script-src" in headers["Content-Security-Policy"]


def test_list_runs_newest_first_with_totals(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "20260101-000000-old", started=T0)
    make_run(runs, "20260102-000000-new", started=T0 + 100)
    (runs / "not-a-run").mkdir()  # no run.json, no transcript: ignored
    listed = get_json(server.url + "api/runs")
    assert [r["id"] for r in listed] == ["20260102-000000-new", "20260101-000000-old"]
    first = listed[0]
    assert first["name"] == "demo 20260102-000000-new" and first["status"] == "completed"
    assert (first["tokens"], first["cost"], first["messages"]) == (120, 0.25, 6)
    assert first["started_at"] == T0 + 100


def test_running_run_counts_live_from_the_transcript(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "live", status="running", final=None)
    (entry,) = get_json(server.url + "api/runs")
    # run.json is stale while running; the transcript says 6 messages, 1 model call of 120 tokens
    assert (entry["status"], entry["messages"], entry["tokens"], entry["stale"]) == ("running", 6, 120, False)


def test_a_broken_run_json_does_not_break_the_list(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "good")
    (make_run(runs, "torn") / "run.json").write_text('{"status": "runn')  # crashed mid-write
    (make_run(runs, "odd") / "run.json").write_text('{"status": "completed", "totals": {"total": "?"}}')
    listed = {r["id"]: r for r in get_json(server.url + "api/runs")}
    assert set(listed) == {"good", "torn", "odd"}
    assert (listed["odd"]["status"], listed["odd"]["tokens"]) == ("completed", 0)
    assert listed["torn"]["status"] == "completed"  # from the transcript's final run_status
    assert listed["torn"]["messages"] == 6


def test_run_meta_and_unknown_ids(server: ViewerServer, runs: Path) -> None:
    run_dir = make_run(runs, "r1")
    assert get_json(server.url + "api/runs/r1") == json.loads((run_dir / "run.json").read_text())
    for bad in ["nope", "%2e%2e", "..", "r1%2F..", "%2Fetc", ".hidden"]:
        code, _, _ = get(server.url + f"api/runs/{bad}")
        assert code == 404, bad


def test_events_after_n_with_summaries(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "r1")
    every = get_json(server.url + "api/runs/r1/events")
    originals = records("r1")
    assert every["next"] == len(originals) and not every["more"]
    assert [e["_seq"] for e in every["events"]] == list(range(len(originals)))
    for got, original in zip(every["events"], originals, strict=True):
        assert got["kind"] == original["kind"]
        assert got["summary"] == summarize(original)  # computed server-side where the record has none
    assert every["events"][1]["summary"] == "model 'default' is SCRIPTED"

    tail = get_json(server.url + "api/runs/r1/events?after=9")
    assert [e["_seq"] for e in tail["events"]] == [9, 10, 11]
    assert [e["kind"] for e in tail["events"]] == ["paper", "meta_review", "run_status"]
    page = get_json(server.url + "api/runs/r1/events?after=2&limit=3")
    assert [e["_seq"] for e in page["events"]] == [2, 3, 4] and page["next"] == 5 and page["more"]
    assert get_json(server.url + "api/runs/r1/events?after=999")["events"] == []


def test_events_skip_a_torn_line_until_it_is_complete(server: ViewerServer, runs: Path) -> None:
    run_dir = make_run(runs, "r1", status="running", final=None)
    n = len(records("r1", None))
    line = json.dumps(rec("note", 50, text="hello there", run_id="r1"))
    with (run_dir / "transcript.jsonl").open("a") as fh:
        fh.write(line[:20])
    assert get_json(server.url + f"api/runs/r1/events?after={n}") == {"events": [], "next": n, "more": False}
    with (run_dir / "transcript.jsonl").open("a") as fh:
        fh.write(line[20:] + "\n" + "{not json\n")
    got = get_json(server.url + f"api/runs/r1/events?after={n}")
    assert [e["summary"] for e in got["events"]] == ["hello there"] and got["next"] == n + 2


def test_artifact_links_in_events(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "r1")
    events = {e["kind"]: e for e in get_json(server.url + "api/runs/r1/events")["events"]}
    (fig,) = events["figures"]["_artifacts"]
    assert fig == {
        "path": "ideas/label_smoothing/workspace/train_loss.png",
        "label": "train_loss.png",
        "type": "image",
        "caption": "loss",
    }
    assert events["paper"]["_artifacts"][0]["path"] == "ideas/label_smoothing/paper/paper_rev0.pdf"
    assert events["meta_review"]["_artifacts"][0]["path"] == "ideas/label_smoothing/reviews.json"


def test_events_tail_and_filters(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "r1")
    n = len(records("r1"))
    tail = get_json(server.url + "api/runs/r1/events?tail=3")
    assert [e["_seq"] for e in tail["events"]] == [n - 3, n - 2, n - 1]
    assert (tail["first"], tail["next"], tail["more"]) == (n - 3, n, False)
    everything = get_json(server.url + "api/runs/r1/events?tail=999")
    assert everything["first"] == 0 and len(everything["events"]) == n
    ideas = get_json(server.url + "api/runs/r1/events?idea=label_smoothing")
    assert ideas["events"] and {e["idea_id"] for e in ideas["events"]} == {"label_smoothing"}
    kinds = get_json(server.url + "api/runs/r1/events?kind=paper,meta_review")
    assert [e["kind"] for e in kinds["events"]] == ["paper", "meta_review"] and kinds["next"] == n
    assert [e["_seq"] for e in kinds["events"]] == [9, 10]  # line numbers stay those of the transcript


def test_a_long_transcript_is_paged_from_its_index(server: ViewerServer, runs: Path) -> None:
    run_dir = make_run(runs, "long", status="running", final=None)
    n = len(records("long", None))
    append(run_dir, *(rec("note", 100 + i, text=f"note {i}") for i in range(3000)))
    tail = get_json(server.url + "api/runs/long/events?tail=10")
    assert tail["first"] == n + 2990 and [e["summary"] for e in tail["events"]][-1] == "note 2999"
    page = get_json(server.url + f"api/runs/long/events?after={n + 1000}&limit=2")
    assert [e["summary"] for e in page["events"]] == ["note 1000", "note 1001"] and page["more"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_there_is_no_write_endpoint(server: ViewerServer, runs: Path, method: str) -> None:
    run_dir = make_run(runs, "r1")
    before = sorted(p.name for p in run_dir.rglob("*"))
    for path in ["", "api/runs", "api/runs/r1", "api/runs/r1/events", "api/runs/r1/files/run.json"]:
        req = urllib.request.Request(server.url + path, data=b"{}", method=method)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code in {404, 405}, (method, path)
    assert sorted(p.name for p in run_dir.rglob("*")) == before
    assert json.loads((run_dir / "run.json").read_text())["status"] == "completed"


def test_unknown_paths_are_json_404s(server: ViewerServer) -> None:
    for path in ["nope", "api", "api/runs/r1/nope", "static/nope.js", "api/runs/x/ideas/y/tree"]:
        code, body, headers = get(server.url + path)
        assert code == 404 and headers["Content-Type"].startswith("application/json"), path
        assert "error" in json.loads(body), path
