"""The README's main job: the offline demo swarm end to end (real runs, plots, PDF, reviews)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sciswarm.paper import extract_text, page_count
from sciswarm.templates import validate_final_info

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.latex]


def test_offline_demo_produces_runs_plots_pdf_and_reviews(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run(
        [sys.executable, "-m", "sciswarm", "run", "configs/demo.yaml", "-o", f"runs_dir={runs}", "--no-output"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "completed"
    assert meta["totals"]["by_stage"], "tokens per role and stage are recorded"
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
    # the crash of run 2's first attempt was fed back and fixed
    assert '"attempt": 2' in transcript and "IndexError" in (idea / "notes.txt").read_text()
    assert {p.name for p in ws.glob("*.png")} >= {"train_loss.png", "generated_samples.png"}

    pdf = idea / "paper" / "paper_rev0.pdf"
    assert page_count(pdf) >= 3
    text = extract_text(pdf)
    assert "References" in text and "Nichol" in text and "Table 1" in text

    reviews = json.loads((idea / "reviews.json").read_text())
    assert len(reviews["reviews"]) == 3
    meta_review = reviews["meta_review"]
    assert meta_review["Overall"] == round(sum(r["Overall"] for r in reviews["reviews"]) / 3)
    assert meta_review["Decision"] in {"Accept", "Reject"}
