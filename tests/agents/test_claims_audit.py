"""The writer's claims audit end to end, with real pdflatex: the model only reads the claims out of the text
(served by a loopback OpenAI-compatible server); code traces every number and decides every comparison; the
writer fixes what fails; the appendix, claims.json and the transcript say what was found."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agent_support import Swarm, needs_latex, section_replies, writer_seed
from support.fake_openai import FakeOpenAI

from sciswarm.agents.writer import PARTS
from sciswarm.paper import extract_text

IDEA = "divisor_study"
WRITER = {"name": "writer", "params": {"refine": False, "citation_rounds": 0, "fix_rounds": 1, "audit_rounds": 1}}
EXTRACT = "You are auditing a paper's claims"
pytestmark = [pytest.mark.latex, needs_latex]


def seeded(values: dict[int, list[float]]) -> dict[str, str]:
    """Workspace files of runs done with seeds: each run's aggregate final_info.json."""
    files = {}
    for run, vals in values.items():
        mean = sum(vals) / len(vals)
        info = {"toy": {"means": {"score": mean}, "n": len(vals), "values": {"score": vals}}}
        files[f"ideas/{IDEA}/workspace/run_{run}/final_info.json"] = json.dumps(info)
    files[f"ideas/{IDEA}/plan.json"] = json.dumps(["double the divisor"])
    return files


def seed_role(values: dict[int, list[float]]) -> dict[str, Any]:
    role = writer_seed(IDEA, with_results=False)
    role["params"]["files"].update(seeded(values))
    return role


def claims(*items: dict[str, Any]) -> str:
    return "```json\n" + json.dumps({"claims": list(items)}) + "\n```"


def claim(quote: str, relation: str, magnitude: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "quote": quote,
        "part": "Results",
        "relation": relation,
        "subject": "run_1",
        "other": "run_0",
        "metric": "score",
        "dataset": "toy",
        "magnitude": magnitude,
    }


def serve(llm: FakeOpenAI, results: str) -> None:
    for name, reply in zip(PARTS, section_replies(Results=results), strict=True):
        llm.add({"match": f'Write the section \\"{name}\\"', "content": reply})


async def test_a_wrong_comparison_and_a_number_no_run_produced_are_caught_and_fixed(swarm: Swarm) -> None:
    wrong = "Doubling the divisor raises the score above the baseline, to 0.91."
    right = "Doubling the divisor lowers the score from 0.51 to 0.26, a 49\\% drop."
    with FakeOpenAI() as llm:
        serve(llm, wrong)
        llm.add({"match": EXTRACT, "content": claims(claim("raises the score above the baseline", "greater"))})
        llm.add({"match": "claims audit: the number 0.91", "content": f"```latex\n{right}\n```"})
        llm.add(
            {"match": EXTRACT, "content": claims(claim("lowers the score", "less", {"value": 49, "unit": "percent"}))}
        )
        out = await swarm.run([seed_role({0: [0.50, 0.52], 1: [0.25, 0.27]}), WRITER], api_base=llm.api_base)
        requests = list(llm.requests)
    assert out.status == "completed" and not out.of("role_failed")
    # the fix request carried the evidence: the untraced number, the contradicted claim and the measurements
    (fix,) = [r for r in requests if "claims audit:" in json.dumps(r["messages"])]
    prompt = fix["messages"][-1]["content"]
    assert "the number 0.91" in prompt and "is contradicted by the results" in prompt
    assert (
        "run_1 is less than run_0" in prompt and "Welch p=" in prompt and '"run_1": {"toy": {"score": 0.26}}' in prompt
    )
    (audit,) = out.of("claims_audit")
    assert audit["rounds"] == 1 and audit["remaining"] == []
    counts = audit["counts"]
    assert counts["numbers_untraced"] == 0 and counts["numbers_traced"] == 3  # 0.51, 0.26 and 49 %
    assert counts["comparisons"] == 1 and counts["comparisons_supported"] == 1
    assert any("claims audit: 1 untraced number(s), 1 comparison problem(s); fixing Results" in t for t in out.logs())
    folder = out.idea_dir(IDEA)
    saved = json.loads((folder / "claims.json").read_text())
    assert saved["seeds"] == 2 and saved["claims"][0]["verdict"] == "supported"
    assert {n["text"]: n["kind"] for n in saved["numbers"]} == {
        "0.51": "results",
        "0.26": "results",
        "49\\%": "derived",
    }
    (paper,) = out.of("paper")
    text = " ".join(extract_text(out.run_dir / paper["pdf"]).split())
    body, appendix = text.split("Claims audit This appendix")
    assert "0.91" not in body and "a 49% drop" in body
    assert "Caught and fixed while writing." in appendix and "untraced number 0.91 (Results)" in appendix
    assert "“lowers the score” (Results): supported" in appendix
    assert "Claims audit" in text and "3 stated, 3 traced" in text and "1 supported" in text
    assert "Remaining issues. None." in text and "repeated with 2 seeds" in text


async def test_better_without_significance_must_say_no_significant_difference(swarm: Swarm) -> None:
    claimed = "Doubling the divisor improves the score over the baseline."
    honest = "Doubling the divisor makes no significant difference to the score."
    with FakeOpenAI() as llm:
        serve(llm, claimed)
        llm.add({"match": EXTRACT, "content": claims(claim("improves the score over the baseline", "greater"))})
        llm.add({"match": "claims a difference that is not significant", "content": f"```latex\n{honest}\n```"})
        llm.add({"match": EXTRACT, "content": claims(claim("makes no significant difference", "no_difference"))})
        out = await swarm.run(
            [seed_role({0: [0.50, 0.40, 0.60], 1: [0.55, 0.45, 0.62]}), WRITER], api_base=llm.api_base
        )
    assert out.status == "completed" and not out.of("role_failed")
    (audit,) = out.of("claims_audit")
    assert audit["counts"]["comparisons_supported"] == 1 and audit["remaining"] == []
    saved = json.loads((out.idea_dir(IDEA) / "claims.json").read_text())
    assert saved["claims"][0]["claim"]["relation"] == "no_difference"
    assert honest in (out.idea_dir(IDEA) / "paper" / "template.tex").read_text()


async def test_what_the_fix_rounds_leave_is_listed_in_the_appendix(swarm: Swarm) -> None:
    wrong = "Doubling the divisor raises the score above the baseline."
    with FakeOpenAI() as llm:
        serve(llm, wrong)
        wrong_claim = claims(claim("raises the score above the baseline", "greater"))
        llm.add({"match": EXTRACT, "content": wrong_claim})
        llm.add({"match": "claims audit:", "content": f"```latex\n{wrong}\n```"})  # the fix changes nothing
        llm.add({"match": EXTRACT, "content": wrong_claim})
        out = await swarm.run([seed_role({0: [0.50, 0.52], 1: [0.25, 0.27]}), WRITER], api_base=llm.api_base)
    assert out.status == "completed"
    (audit,) = out.of("claims_audit")
    assert audit["counts"]["comparisons_contradicted"] == 1
    assert audit["remaining"] == ["contradicted: raises the score above the baseline"]
    (paper,) = out.of("paper")
    text = " ".join(extract_text(out.run_dir / paper["pdf"]).split())
    assert "Remaining issues." in text and "contradicted: “raises the score above the baseline”" in text


async def test_a_model_that_fails_for_good_in_the_last_fix_round_still_leaves_the_paper(swarm: Swarm) -> None:
    wrong = "Doubling the divisor raises the score above the baseline, to 0.91."
    still = "Doubling the divisor raises the score above the baseline, to 0.93, KEPTFIX."  # fix round 1's text
    wrong_claim = claims(claim("raises the score above the baseline", "greater"))
    writer = {**WRITER, "params": {**WRITER["params"], "audit_rounds": 2}}
    out = await swarm.run(
        [seed_role({0: [0.50, 0.52], 1: [0.25, 0.27]}), writer],
        # the scripted writer runs out of replies at fix round 2: its model call fails for good there
        replies={"writer": [*section_replies(Results=wrong), wrong_claim, f"```latex\n{still}\n```", wrong_claim]},
    )
    assert out.status == "completed" and not out.of("role_failed"), out.meta["reason"]
    outcome = out.meta["outcomes"][IDEA]
    assert (outcome["outcome"], outcome["papers"]) == ("done", 1)
    assert "writer gave up at audit_fix/Results (fix round 2 of 2): scripted replies" in outcome["detail"]
    failed = out.calls("writer")[-1]
    assert (failed["stage"], failed["ok"]) == ("audit_fix/Results", False)
    assert any(t.startswith("writer gave up at audit_fix/Results") for t in out.logs("warning"))
    (audit,) = out.of("claims_audit")
    assert audit["rounds"] == 2 and audit["remaining"][0].startswith("writer gave up at audit_fix/Results")
    assert audit["remaining"][1:] == [
        "untraced number 0.93 (Results)",
        "contradicted: raises the score above the baseline",
    ]
    saved = json.loads((out.idea_dir(IDEA) / "claims.json").read_text())
    assert saved["gave_up"]["stage"] == "audit_fix/Results (fix round 2 of 2)"
    (paper,) = out.of("paper")
    assert paper["compiled"] is True and paper["gave_up"].startswith("audit_fix/Results (fix round 2 of 2): ")
    assert "exhausted after 11 replies" in paper["gave_up"]
    text = " ".join(extract_text(out.run_dir / paper["pdf"]).split())
    body, appendix = text.split("Claims audit This appendix")
    assert "KEPTFIX" in body and "0.91" not in body  # the last good text: what fix round 1 wrote
    remaining = appendix.split("Remaining issues.")[1].replace("audit fix", "audit_fix")  # OT1 draws \_ as a rule
    assert "The writer gave up at audit_fix/Results (fix round 2 of 2): a model call failed for good" in remaining
    assert "exhausted after 11 replies" in remaining
    assert "Untraced number 0.93" in remaining and "contradicted: “raises the score above the baseline”" in remaining
    assert "Caught and fixed while writing." in appendix and "untraced number 0.91 (Results)" in appendix
