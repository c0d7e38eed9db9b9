"""Reviews drive the next ideas: a meta-review makes the ideator propose a follow-up generation."""

from __future__ import annotations

import json
from pathlib import Path

from support.fake_openai import FakeOpenAI

from sciswarm.events import MetaReview, ReviewScores
from sciswarm.run.config import load_config
from sciswarm.run.runner import SwarmRunner
from sciswarm.run.store import read_transcript

SCORES = {
    "Summary": "s",
    "Strengths": ["clear"],
    "Weaknesses": ["only one seed", "toy data"],
    "Questions": [],
    "Originality": 2,
    "Quality": 2,
    "Clarity": 3,
    "Significance": 2,
    "Soundness": 2,
    "Presentation": 3,
    "Contribution": 2,
    "Overall": 4,
    "Confidence": 4,
    "Decision": "Reject",
}
IDEA = (
    '```json\n{"Name": "%s", "Title": "%s", "Experiment": "E", "Interestingness": 6, '
    '"Feasibility": 8, "Novelty": 6}\n```\nI am done'
)


async def run_follow_up(tmp_path: Path, generations: int, server: FakeOpenAI) -> Path:
    cfg = tmp_path / "swarm.yaml"
    cfg.write_text(
        f"runs_dir: {tmp_path / 'runs'}\n"
        f"models: {{default: {{model: openai/gpt-4o-mini, api_base: '{server.api_base}'}}}}\n"
        f"roles: [{{name: ideator, subscribes: [meta_review], params: {{generations: {generations}, "
        "num_reflections: 1}}]\n"
    )
    runner = SwarmRunner(load_config(cfg))
    first = runner.store.idea_dir("seeded_idea")
    (first / "idea.json").write_text(json.dumps({"Name": "seeded_idea", "Title": "First try", "generation": 1}))
    meta = MetaReview(idea_id="seeded_idea", review=ReviewScores.model_validate(SCORES), n_reviews=3)
    assert await runner.run(handle_signals=False, initial=[meta]) == "completed"
    return runner.store.run_dir


async def test_meta_review_leads_to_a_second_generation_idea(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        server.add({"content": IDEA % ("seeded_idea_v2", "Second try, with seeds")})
        run_dir = await run_follow_up(tmp_path, 2, server)
        prompt = json.dumps(server.requests[0]["messages"])
    assert "only one seed" in prompt and "First try" in prompt and "4/10" in prompt
    follow = json.loads((run_dir / "ideas/seeded_idea_v2/idea.json").read_text())
    assert follow["generation"] == 2 and follow["Title"] == "Second try, with seeds"
    ideas = [r for r in read_transcript(run_dir / "transcript.jsonl") if r["kind"] == "idea"]
    assert len(ideas) == 1 and ideas[0]["idea_id"] == "seeded_idea_v2" and ideas[0]["parent_id"]


async def test_last_generation_proposes_nothing(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        run_dir = await run_follow_up(tmp_path, 1, server)
        assert server.requests == []
    assert sorted(p.name for p in (run_dir / "ideas").iterdir()) == ["seeded_idea"]
