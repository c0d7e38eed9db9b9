"""A tree search through to the compiled paper, with real runs in the local sandbox, real pdflatex and the claims
audit on: the writer is told both values of the stage's best node (its search value and its re-run with fresh
seeds) and how many nodes were tried; the paper states them; the code-written appendix lists them per stage."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from agent_support import Swarm, edit, idea_reply, needs_latex, section_replies
from support.fake_openai import FakeOpenAI

from sciswarm.agents.writer import PARTS
from sciswarm.paper import extract_text

IDEA = "divisor_sweep"
EXTRACT = "You are auditing a paper's claims"
VISION = (
    '{"description": "Bar chart of the score of each run.", "readable": true, "matches_intent": true, "problems": []}'
)
pytestmark = [pytest.mark.latex, pytest.mark.slow, needs_latex]
# seeds: the search runs with SCISWARM_SEED=2 (outside the re-run's 0 and 1), score = 1 / DIVISOR + 0.01 * seed
SEARCH_N4 = 1 / 8 + 0.02  # n4 divides by eight: the best node
RERUN = (1 / 8, 1 / 8 + 0.01)  # its re-run with seeds 0 and 1
BASELINE = (0.5, 0.51)
RESULTS = (
    "Dividing by eight lowers the score from 0.505 for the baseline to 0.13, the mean over two fresh seeds. "
    "In the search, which picked this node as the best of four nodes tried, its score was 0.145, "
    "an optimistic value."
)


def _seeded(template: Path) -> None:
    exp = template / "experiment.py"
    text = exp.read_text().replace(
        "score = score_of(STEP, DIVISOR)", "score = score_of(STEP, DIVISOR) + 0.01 * int(os.environ['SCISWARM_SEED'])"
    )
    exp.write_text(text)
    prompt = json.loads((template / "prompt.json").read_text())
    objective = {"metric": "score", "direction": "min", "datasets": "mean"}
    (template / "prompt.json").write_text(json.dumps({**prompt, "objective": objective}))


def divide(node: str, before: float, after: float, plan: str) -> dict[str, str]:
    return {
        "match": node,
        "content": edit("experiment.py", f"DIVISOR = {before}", f"DIVISOR = {after}", preface=f"PLAN: {plan}"),
    }


def claims() -> str:
    claim = {
        "quote": "Dividing by eight lowers the score",
        "part": "Results",
        "relation": "less",
        "subject": "run_1",
        "other": "run_0",
        "metric": "score",
        "dataset": "toy",
        "magnitude": None,
    }
    return "```json\n" + json.dumps({"claims": [claim]}) + "\n```"


async def test_the_search_value_the_rerun_value_and_the_nodes_tried_reach_the_compiled_paper(
    swarm: Swarm, template: Path
) -> None:
    _seeded(template)
    tree = {
        "stages": ["implementation"],
        "nodes": {"implementation": 4},
        "drafts": 2,
        "debug_prob": 1.0,
        "workers": 2,
        "seeds_for_rerun": 2,
    }
    roles = [
        {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}},
        {"name": "novelty_critic"},
        {"name": "coder", "params": {"strategy": "tree", "editable": ["experiment.py", "plot.py"], "tree": tree}},
        {"name": "experimenter"},
        {"name": "writer", "params": {"refine": False, "citation_rounds": 0, "fix_rounds": 1, "audit_rounds": 1}},
    ]
    with FakeOpenAI() as llm:
        llm.add(
            {"match": "Propose the next", "content": idea_reply(IDEA)},
            divide("drafting node n1", 2.0, 4.0, "Divide by four."),
            divide("drafting node n2", 2.0, 0.0, "Divide by zero, boldly."),
            divide("Node n3 debugs node n2", 0.0, 5.0, "Zero crashes; divide by five."),
            divide("Node n4 improves node n1", 4.0, 8.0, "Divide by eight."),
            *({"match": f"Analyse node n{i} ", "content": f"Node n{i} did what it planned."} for i in range(1, 5)),
            {
                "match": "The experiments are done",
                "content": "NOTES: dividing by eight gives the lowest score.\n\n"
                + edit("plot.py", '    "run_0": "Baseline",', '    "run_0": "Baseline",\n    "run_1": "Best node",'),
            },
            {"match": "one of the figures that plot.py made", "content": VISION},
            *(
                {"match": f'Write the section \\"{name}\\"', "content": reply}
                for name, reply in zip(PARTS, section_replies(Results=RESULTS), strict=True)
            ),
            {"match": EXTRACT, "content": claims()},
        )
        out = await swarm.run(roles, api_base=llm.api_base, sandbox={"max_parallel_runs": 2})
        unmatched = [item.get("match") for item in llm.queue]
        requests = list(llm.requests)
    assert out.status == "completed" and not out.of("role_failed"), [r.get("error") for r in out.of("role_failed")]
    assert unmatched == []
    idea = out.idea_dir(IDEA)
    data = json.loads((idea / "tree.json").read_text())
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes["n2"]["status"] == "buggy" and "ZeroDivisionError" in nodes["n2"]["error"]
    assert nodes["n3"]["status"] == "good" and nodes["n3"]["operator"] == "debug"  # the crashing draft, debugged
    (stage,) = data["stages"]
    assert (stage["best"], stage["nodes_tried"], stage["rerun_seeds"]) == ("n4", 4, 2)
    assert math.isclose(stage["search_value"], SEARCH_N4) and math.isclose(stage["rerun_value"], sum(RERUN) / 2)
    line = (
        "Stage implementation (run_1): node n4, selected from 4 nodes by the objective; search value of score 0.145 "
        "(optimistic); re-run with 2 fresh seeds: 0.13 +/- 0.0071."
    )
    # the writer was given both values and the count, in every part's prompt
    (results_request,) = [r for r in requests if 'Write the section \\"Results\\"' in json.dumps(r["messages"])]
    prompt = results_request["messages"][-1]["content"]
    assert f"best nodes of an experiment tree search, each re-run with fresh seeds:\n- {line}" in prompt
    assert "search value 0.145, re-run with 2 seeds 0.13 ± 0.0071 (selected from 4 nodes" in prompt  # notes.txt
    # the audit traced every number: the re-run mean as measured, the search value as selected
    saved = json.loads((idea / "claims.json").read_text())
    kinds = {n["text"]: n["kind"] for n in saved["numbers"] if n["part"] == "Results"}
    assert kinds == {"0.505": "results", "0.13": "results", "0.145": "selected"}
    assert saved["counts"]["numbers_untraced"] == 0 and saved["counts"]["numbers_from_selected"] == 1
    assert saved["claims"][0]["verdict"] == "supported" and saved["selection"] == [line]
    (paper,) = out.of("paper")
    assert paper["compiled"]
    text = " ".join(extract_text(out.run_dir / paper["pdf"]).split())
    body, appendix = text.split("Claims audit This appendix")
    assert "to 0.13, the mean over two fresh seeds" in body and "its score was 0.145" in body
    assert "best of four nodes tried" in body
    assert "Selection. Beside the baseline, the runs are the best nodes of an experiment tree search." in appendix
    # pypdf reads the typeset underscore of run_1 as a space, and the plus-minus sign as ±
    assert line.replace("run_1", "run 1").replace(" +/- ", " ± ") in appendix, appendix
    assert "1 search value" in appendix and "Remaining issues. None." in appendix
