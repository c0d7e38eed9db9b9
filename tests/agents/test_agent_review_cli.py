"""`sciswarm review PAPER.pdf -c swarm.yaml`: the reviewer panel alone on a PDF, end to end in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from agent_support import review_json, tiny_pdf

from sciswarm.run.store import read_transcript

ROOT = Path(__file__).resolve().parents[2]
PANEL = {"num_reviewers": 2, "num_reflections": 1, "parallel": False, "improvement_rounds": 2}


def test_review_cli_reviews_a_pdf_with_a_scripted_config(work: Path) -> None:
    pdf = tiny_pdf(work / "Toy Paper.pdf", ["A Toy Paper", "The score is the step over the divisor.", "MARKER-4242"])
    replies = work / "replies.yaml"
    replies.write_text(
        yaml.safe_dump({"reviewer_panel": [review_json(3), review_json(5), review_json(8, summary="Chair.")]})
    )
    cfg = work / "review.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "name": "review-test",
                "runs_dir": str(work / "runs"),
                "models": {"default": {"model": "scripted", "script": str(replies)}},
                "roles": [
                    {"name": "ideator"},  # not started by `review`: only the panel runs
                    {"name": "reviewer_panel", "params": PANEL},
                ],
                "literature": {"engine": "none", "cache_path": None},
            }
        )
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "sciswarm", "review", str(pdf), "-c", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = list((work / "runs").iterdir())
    reviews = run_dir / "ideas" / "toy_paper" / "reviews.json"
    assert reviews.exists() and str(reviews) in proc.stdout.replace("\n", "")
    saved = json.loads(reviews.read_text())
    assert [r["Overall"] for r in saved["reviews"]] == [3, 5]
    assert saved["meta_review"]["Overall"] == 4 and saved["meta_review"]["Summary"] == "Chair."
    records = list(read_transcript(run_dir / "transcript.jsonl"))
    kinds = [r["kind"] for r in records]
    assert kinds.count("review") == 2 and kinds.count("meta_review") == 1
    assert "revision" not in kinds and "idea" not in kinds and "role_failed" not in kinds
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "completed" and list(meta["roles"]) == ["reviewer_panel"]
