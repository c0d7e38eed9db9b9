"""The README's main job: the offline demo swarm end to end (real runs, plots, PDF, reviews)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from e2e.golden import conversation
from support.fake_scholar import FakeScholar, fail

from sciswarm.paper import extract_text, page_count
from sciswarm.templates import validate_final_info

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.latex]


@pytest.fixture(scope="module")
def baselines(demo_baselines: Path) -> Path:
    """One baseline cache for the demo runs of the session (each computes run_0 once otherwise)."""
    return demo_baselines


def run_demo(runs: Path, baselines: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    runs.mkdir(parents=True)
    (runs / ".baselines").symlink_to(baselines)
    options = [x for o in (f"runs_dir={runs}", *overrides) for x in ("-o", o)]
    return subprocess.run(
        [sys.executable, "-m", "sciswarm", "run", "configs/demo.yaml", *options, "--no-output"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "250"},
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, baselines: Path) -> Path:
    """The demo's run folder (one run for the tests of this module that only read it or redo its stages)."""
    runs = tmp_path_factory.mktemp("demo") / "runs"
    proc = run_demo(runs, baselines)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    return run_dir


def test_offline_demo_produces_runs_plots_pdf_and_reviews(demo: Path) -> None:
    run_dir = demo
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "completed"
    assert meta["totals"]["by_stage"], "tokens per role and stage are recorded"
    # the golden transcript: the same messages from the same senders in the same order, the same model calls
    golden = json.loads((Path(__file__).parent / "golden_demo.json").read_text())
    assert conversation(run_dir) == golden, "the demo's conversation changed (see tests/e2e/golden.py)"
    transcript = (run_dir / "transcript.jsonl").read_text()
    assert '"scripted": true' in transcript and "SCRIPTED" in transcript

    (idea,) = list((run_dir / "ideas").iterdir())
    assert json.loads((idea / "idea.json").read_text())["Name"]
    novelty = json.loads((idea / "novelty.json").read_text())
    assert novelty["verdict"] == "novel" and novelty["compared"]

    ws = idea / "workspace"
    results = {
        r: validate_final_info(json.loads((ws / r / "final_info.json").read_text()))
        for r in ("run_0", "run_1", "run_2")
    }
    assert results["run_1"] != results["run_0"] and results["run_2"] != results["run_0"]
    # the template's baseline: every dataset, its metrics, the raw results, and it learned the data
    assert set(results["run_0"]) == {"circle", "dino", "line", "moons"}
    for metrics in results["run_0"].values():
        assert {"training_time", "eval_loss", "inference_time", "kl_divergence"} <= set(metrics)
        assert metrics["kl_divergence"] < 0.5
    assert (ws / "run_0" / "all_results.npy").is_file()
    # the crash of run 2's first attempt was fed back and fixed
    assert '"attempt": 2' in transcript and "IndexError" in (idea / "notes.txt").read_text()
    assert {p.name for p in ws.glob("*.png")} >= {"train_loss.png", "generated_samples.png"}

    pdf = idea / "paper" / "paper_rev0.pdf"
    assert page_count(pdf) >= 3
    text = extract_text(pdf)
    assert "References" in text and "Nichol" in text and "Table 1" in text
    # the claims audit caught the scripted Results' wrong comparison and its number no run produced; the
    # writer fixed them; the PDF has the corrected text and the code-written appendix
    logs = [json.loads(line) for line in transcript.splitlines()]
    caught = "claims audit: 1 untraced number(s), 1 comparison problem(s); fixing Results (round 1/2)"
    assert any(r["kind"] == "log" and r["text"] == caught for r in logs)
    (audit,) = [r for r in logs if r["kind"] == "claims_audit"]
    assert audit["rounds"] == 1 and audit["remaining"] == [] and audit["counts"]["comparisons_contradicted"] == 0
    claims = json.loads((idea / "claims.json").read_text())
    assert claims["counts"]["numbers_untraced"] == 0 and claims["references"]["literature"] == 3
    flat = " ".join(text.split())
    body, appendix = flat.split("Claims audit This appendix was written by sciswarm")
    assert "lowers the KL divergence on dino to 0.031" not in body and "in contrast, lowers" not in body
    assert "The cosine schedule is worse still on dino" in body
    assert "Caught and fixed while writing." in appendix and "untraced number 0.031 (Results)" in appendix
    assert "contradicted: “The cosine schedule, in contrast, lowers the KL divergence on dino" in appendix

    reviews = json.loads((idea / "reviews.json").read_text())
    assert len(reviews["reviews"]) == 3
    meta_review = reviews["meta_review"]
    assert meta_review["Overall"] == round(sum(r["Overall"] for r in reviews["reviews"]) / 3)
    assert meta_review["Decision"] in {"Accept", "Reject"}


def test_rerun_from_the_writer_with_fewer_citation_rounds_makes_a_new_paper_and_reviews(demo: Path) -> None:
    """`sciswarm rerun RUN --from writer`: a new run beside the demo's, from its kept artifacts, with one citation
    round instead of three (the scripted replies for that: the demo's, with the second round taken out)."""
    replies = yaml.safe_load((ROOT / "configs/demo/replies.yaml").read_text())
    writer = replies["writer"]
    first_select = next(i for i, r in enumerate(writer) if r.startswith("SELECTED:"))
    replies["writer"] = writer[: first_select + 1] + writer[first_select + 4 :]  # no second round, no "Done"
    script = demo.parent / "rerun_replies.yaml"
    script.write_text(yaml.safe_dump(replies, sort_keys=False, allow_unicode=True, width=1000))
    before = {p: p.stat().st_mtime for p in demo.rglob("*") if p.is_file()}
    proc = subprocess.run(
        [sys.executable, "-m", "sciswarm", "rerun", str(demo), "--from", "writer", "--no-output",
         "-o", "roles.writer.params.citation_rounds=1", "-o", f"models.default.script={script}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "250"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    new = demo.parent / f"{demo.name}-writer-1"
    meta = json.loads((new / "run.json").read_text())
    assert meta["status"] == "completed" and meta["rerun_of"] == {
        "run": demo.name, "from": "writer", "ideas": ["noise_schedule_study"]
    }  # fmt: skip
    records = [json.loads(line) for line in (new / "transcript.jsonl").read_text().splitlines()]
    kinds = [r["kind"] for r in records]
    assert "sandbox_exec" not in kinds and "experiment_run" not in kinds  # the experiments were not run again
    stages = [r["stage"] for r in records if r["kind"] == "model_call" and r["sender"] == "writer"]
    assert stages.count("cite/query") == 1 and stages.count("cite/select") == 1 and "audit/extract" in stages
    (paper,) = [r for r in records if r["kind"] == "paper"]
    (old_paper,) = [json.loads(x) for x in (demo / "transcript.jsonl").read_text().splitlines() if '"paper"' in x
                    and json.loads(x)["kind"] == "paper"]  # fmt: skip
    assert paper["citations"] == old_paper["citations"] - 1  # one literature paper fewer: one round, not two
    assert len([r for r in records if r["kind"] == "review"]) == 3 and "meta_review" in kinds
    pdf = new / paper["pdf"]
    assert pdf.exists() and "Claims audit" in extract_text(pdf)
    assert json.loads((new / "ideas/noise_schedule_study/reviews.json").read_text())["meta_review"]
    # the earlier run is as it was
    assert {p: p.stat().st_mtime for p in demo.rglob("*") if p.is_file()} == before


def test_demo_under_a_total_literature_outage_costs_at_most_one_wait(tmp_path: Path, baselines: Path) -> None:
    """Both engines down (429 with Retry-After: 3600, 503): the novelty verdict is "unknown" within the
    configured wait, the writer's citation search is refused at once by the shared breaker, and the run
    still completes with a paper."""
    wait_s = 8.0
    with FakeScholar() as scholar:
        scholar.always("s2", fail(429, retry_after=3600))
        scholar.always("openalex", fail(503))
        proc = run_demo(
            tmp_path / "runs",
            baselines,
            "literature.cache_only=false",
            "literature.seed_cache_json=null",
            f"literature.api_base={scholar.url}",
            f"literature.fallback_api_base={scholar.url}",
            f"literature.wait_s={wait_s}",
            "literature.backoff_max_s=1",
            "literature.min_interval_s=0",
        )
        requests = [r.at for r in scholar.requests]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")]
    records = [json.loads(line) for line in (run_dir / "transcript.jsonl").read_text().splitlines()]
    at = {r["kind"]: r["ts"] for r in reversed(records) if r["kind"] in ("idea", "novelty")}
    (novelty,) = [r for r in records if r["kind"] == "novelty"]
    assert novelty["verdict"] == "unknown" and "unavailable" in novelty["reason"] and novelty["proceed"]
    assert at["novelty"] - at["idea"] <= wait_s + 2  # one wait for the first verdict, not 2 x 90 s
    # every request to the engines came within that first wait: later searches were refused at once
    assert requests and max(requests) - min(requests) <= wait_s + 1
    cite = next(i for i, r in enumerate(records) if r.get("stage") == "cite/query")
    stopped = next(r for r in records[cite:] if "citation search unavailable" in str(r.get("text", "")))
    assert stopped["ts"] - records[cite]["ts"] < 1.0 and "next probe in" in stopped["text"]
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "completed" and meta["outcomes"]["noise_schedule_study"]["papers"] == 1
    assert (run_dir / "ideas/noise_schedule_study/paper/paper_rev0.pdf").exists()
