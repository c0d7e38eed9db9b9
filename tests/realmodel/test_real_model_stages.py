"""Every structured stage gets schema-valid output from a real model (Qwen2.5-Coder-0.5B on llama.cpp's server),
driven through the roles' own prompts and LiteLLM's real HTTP path; each call records the schema form sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support.fake_scholar import FakeScholar
from support.tiny_pdf import write_pdf

from sciswarm.agents.coder import Coder
from sciswarm.agents.ideator import Ideator
from sciswarm.agents.novelty import NoveltyCritic
from sciswarm.agents.prompting import Prompts
from sciswarm.agents.reviewer import ReviewerPanel
from sciswarm.events import Idea, NoveltyVerdict, Paper, Start
from sciswarm.evidence.claims import ClaimList
from sciswarm.ledger import Ledger
from sciswarm.literature import LiteratureSearch
from sciswarm.llm import LiteLLMClient, ModelHandle
from sciswarm.testing import Recorder, make_context
from sciswarm.testing.local_llm import LlamaServer

pytestmark = [pytest.mark.realmodel, pytest.mark.timeout(1800)]  # the first test may build the server (~10 min)
TEMPLATE = Path(__file__).parents[2] / "templates" / "2d_diffusion"
IDEA = {
    "Name": "cosine_noise_schedule",
    "Title": "Cosine Noise Schedules for Low-Dimensional Diffusion",
    "Experiment": "Replace the linear beta schedule in experiment.py with a cosine schedule and compare the KL "
    "divergence of the samples on the four 2-D datasets.",
    "Interestingness": 6,
    "Feasibility": 9,
    "Novelty": 4,
}


def real_client(llama: LlamaServer, rec: Recorder) -> LiteLLMClient:
    return LiteLLMClient(
        llama.model,
        ledger=Ledger(run_id="test", on_call=rec.traces.append),
        api_base=llama.api_base,
        api_key="sk-not-needed",
        temperature=0.0,  # greedy: the same replies on every run of the tier
        max_tokens=1024,
        context_window=llama.weights.context,
        timeout_s=600,
        max_retries=1,
    )


def structured_stages(rec: Recorder) -> dict[str, set[str]]:
    """stage -> the structured-output forms its calls sent (the probe aside)."""
    out: dict[str, set[str]] = {}
    for call in rec.calls:
        if call.stage != "structured-output-probe":
            out.setdefault(call.stage, set()).add(call.structured)
    return out


async def test_ideator_idea_and_reflection(llama: LlamaServer, tmp_path: Path) -> None:
    rec = Recorder()
    params = {"num_ideas": 1, "num_reflections": 2, "max_code_chars": 3000}
    ctx, _ = make_context(
        Ideator, tmp_path, params=params, model=real_client(llama, rec), template=TEMPLATE, recorder=rec
    )
    await Ideator(ctx).handle(Start(template=str(TEMPLATE)))
    (idea,) = rec.of("idea")
    assert isinstance(idea, Idea) and idea.name and idea.title and 1 <= idea.novelty <= 10
    stages = structured_stages(rec)
    assert stages["idea"] == {"json_object"} and stages["idea/reflect"] == {"json_object"}
    probe = [c for c in rec.calls if c.stage == "structured-output-probe"]
    assert len(probe) <= 2  # once per server and model for the process (this test may be the first)


async def test_novelty_critic_verdict_with_a_literature_search(llama: LlamaServer, tmp_path: Path) -> None:
    rec = Recorder()
    with FakeScholar() as scholar:
        literature = LiteratureSearch.from_config(
            {"api_base": scholar.url, "fallback_api_base": scholar.url, "cache_path": None, "min_interval_s": 0},
            base_dir=tmp_path,
        )
        ctx, _ = make_context(
            NoveltyCritic,
            tmp_path,
            params={"max_rounds": 3, "results_per_query": 3},
            model=real_client(llama, rec),
            literature=literature,
            idea_id=IDEA["Name"],
            recorder=rec,
        )
        ctx.folder.write_idea(IDEA)
        idea = Idea(
            name=IDEA["Name"],
            title=IDEA["Title"],
            experiment=IDEA["Experiment"],
            interestingness=6,
            feasibility=9,
            novelty=4,
        )
        await NoveltyCritic(ctx).handle(idea)
    (verdict,) = rec.of("novelty")
    assert isinstance(verdict, NoveltyVerdict) and verdict.verdict in {"novel", "not novel"}
    assert verdict.reason and not verdict.reason.lstrip().startswith("{")  # the schema's Thought, not raw JSON
    assert structured_stages(rec)["novelty"] == {"json_object"}


async def test_coder_plan(llama: LlamaServer, tmp_path: Path) -> None:
    rec = Recorder()
    ctx, _ = make_context(
        Coder,
        tmp_path,
        params={"max_runs": 3},
        model=real_client(llama, rec),
        template=TEMPLATE,
        idea_id=IDEA["Name"],
        recorder=rec,
    )
    ctx.folder.write_idea(IDEA)
    coding = asyncio.create_task(Coder(ctx).handle(NoveltyVerdict(verdict="novel", reason="r")))
    while not rec.of("plan") and not coding.done():  # the plan is what is tested, not the edits after it
        await asyncio.sleep(0.2)
    coding.cancel()
    (plan,) = rec.of("plan")
    assert 1 <= len(plan.runs) <= 3 and all(isinstance(r, str) and r.strip() for r in plan.runs)  # type: ignore[attr-defined]
    assert ctx.folder.plan() == plan.runs  # type: ignore[attr-defined]
    assert structured_stages(rec)["plan"] == {"json_object"}


PAPER = [
    "Cosine Noise Schedules for Low-Dimensional Diffusion",
    "Abstract. We replace the linear noise schedule of a small DDPM with a cosine schedule.",
    "On four 2-D datasets the KL divergence of the samples falls from 0.182 to 0.151 on average.",
    "1 Introduction. Diffusion models learn to reverse a fixed noising process.",
    "2 Method. The cosine schedule sets alpha_bar(t) = cos^2((t/T + s)/(1 + s) * pi/2).",
    "3 Experiments. We train for 10,000 steps on circle, dino, line and moons with one seed each.",
    "Table 1: KL divergence. Linear: 0.182. Cosine: 0.151.",
    "4 Conclusion. The cosine schedule improves sample quality on these datasets; more seeds are needed.",
]


async def test_reviewer_panel_reviews_reflections_and_meta_review(llama: LlamaServer, tmp_path: Path) -> None:
    rec = Recorder()
    pdf = write_pdf(tmp_path / "paper.pdf", PAPER)
    params = {"num_reviewers": 2, "num_reflections": 2, "parallel": False}
    ctx, _ = make_context(ReviewerPanel, tmp_path, params=params, model=real_client(llama, rec), recorder=rec)
    await ReviewerPanel(ctx).handle(Paper(pdf=str(pdf)))
    assert len(rec.of("review")) == 2 and not rec.of("role_failed")
    (meta,) = rec.of("meta_review")
    assert meta.review.Decision in {"Accept", "Reject"} and 1 <= meta.review.Overall <= 10  # type: ignore[attr-defined]
    stages = structured_stages(rec)
    for stage in ("review/r1", "review/r1/reflect", "review/r2", "meta_review"):
        assert stages[stage] == {"json_object"}, stage
    assert (ctx.folder.reviews() or {}).get("meta_review")


async def test_claims_extraction(llama: LlamaServer, tmp_path: Path) -> None:
    rec = Recorder()
    prompts = Prompts.load("writer")
    handle = ModelHandle(real_client(llama, rec), "writer", "idea")
    conv = handle.conversation(prompts.render("system"))
    text = (
        "[Results]\nThe cosine schedule (run_1) reaches a lower KL divergence than the baseline (run_0) on "
        "every dataset, by 17% on average. Run_2 is the best of all runs on the dino dataset."
    )
    prompt = prompts.render(
        "audit_extract",
        runs="- run_0: the baseline (the unmodified template)\n- run_1: cosine schedule\n- run_2: cosine, 2x steps",
        datasets="circle, dino, line, moons",
        metrics="kl_divergence, eval_loss",
        text=text,
    )
    found = await conv.say_json(prompt, ClaimList, stage="audit/extract")
    assert isinstance(found, ClaimList)
    assert structured_stages(rec)["audit/extract"] == {"json_object"}
