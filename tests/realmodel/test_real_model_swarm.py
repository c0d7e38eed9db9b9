"""The default swarm (configs/default.yaml) with its local-model profile, driven end to end by a real model
(Qwen2.5-Coder-0.5B on llama.cpp's server) as a user runs it: the real CLI, real Docker experiments, LaTeX; the
literature from a server on 127.0.0.1 speaking Semantic Scholar's API. It goes as far as the model allows and
ends with the truth: a status whose exit code the CLI returns, one line per failure, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.fake_scholar import FakeScholar

from sciswarm.run.store import EXIT_CODES
from sciswarm.testing.local_llm import LlamaServer

pytestmark = [pytest.mark.realmodel, pytest.mark.docker, pytest.mark.latex, pytest.mark.timeout(2400)]
ROOT = Path(__file__).parents[2]


def test_default_swarm_on_a_local_model_runs_end_to_end_and_ends_honestly(
    llama: LlamaServer, tmp_path: Path, demo_baselines: Path
) -> None:
    with FakeScholar() as scholar:
        argv = [str(Path(sys.executable).parent / "sciswarm"), "run", str(ROOT / "configs" / "default.yaml")]
        argv += ["-o", "profile=local", "-o", f"models.default.api_base={llama.api_base}"]
        argv += ["-o", f"runs_dir={tmp_path / 'runs'}", "-o", "flow.timeout_s=1800"]
        argv += ["-o", f"literature.api_base={scholar.url}", "-o", f"literature.fallback_api_base={scholar.url}"]
        argv += ["-o", "literature.cache_path=null", "-o", "roles.coder.params.max_runs=1"]
        # bounded for CI: a 0.5B model on 2 CPU cores writes ~19 tokens/s and often repeats itself to the limit
        argv += ["-o", "models.default.max_tokens=512", "-o", "roles.writer.params.citation_rounds=1"]
        argv += ["-o", "roles.writer.params.refine=false", "-o", "roles.writer.params.audit_rounds=1"]
        argv += ["-o", "roles.writer.params.fix_rounds=1", "-o", "models.default.temperature=0"]  # greedy: repeatable
        (tmp_path / "runs").mkdir()
        (tmp_path / "runs" / ".baselines").symlink_to(demo_baselines)  # the template's run_0, shared
        done = subprocess.run(
            argv, capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"}, timeout=2300
        )
    out = done.stdout + done.stderr
    assert "Traceback" not in out, out[-3000:]
    (run_dir,) = (tmp_path / "runs").glob("2*")
    meta = json.loads((run_dir / "run.json").read_text())
    assert done.returncode == EXIT_CODES[meta["status"]], out[-2000:]
    records = [json.loads(line) for line in (run_dir / "transcript.jsonl").read_text().splitlines()]
    kinds = [r["kind"] for r in records]
    assert "structured-output-probe" in {r.get("stage") for r in records if r["kind"] == "model_call"}
    # the real model's idea, novelty verdict and (when the verdict lets the idea go on) plan came out schema-valid,
    # with the schema sent
    (verdict,) = [r for r in records if r["kind"] == "novelty"]
    for kind, stage in (("idea", "idea"), ("novelty", "novelty"), ("plan", "plan"))[: 3 if verdict["proceed"] else 2]:
        assert kind in kinds, f"no {kind} message: {meta.get('reason')}"
        sent = {r["structured"] for r in records if r["kind"] == "model_call" and r["stage"] == stage and r["ok"]}
        assert sent == {"json_object"}, (stage, sent)
    (idea_dir,) = (run_dir / "ideas").iterdir()
    assert json.loads((idea_dir / "idea.json").read_text())["Title"]
    assert json.loads((idea_dir / "plan.json").read_text()) or not verdict["proceed"]
    # every failure is one line, and the run's reason says what ended it
    for failed in (r for r in records if r["kind"] == "role_failed"):
        assert "\n" not in failed["error"] and "Traceback" not in failed["error"]
    assert records[-1]["kind"] == "run_status" and records[-1]["status"] == meta["status"]
    if meta["status"] != "completed":
        assert meta["reason"] and "\n" not in meta["reason"]
