"""Writer failure paths with real pdflatex/bibtex: a LaTeX error fixed from the log, and a revision whose
fix does not help (the last good PDF is published instead)."""

from __future__ import annotations

import json

import pytest
from agent_support import Swarm, needs_latex, review_json, section_replies, writer_seed
from support.fake_openai import FakeOpenAI

from sciswarm.agents.writer import PARTS
from sciswarm.paper import extract_text

IDEA = "divisor_study"
WRITER = {"name": "writer", "params": {"refine": False, "citation_rounds": 0, "fix_rounds": 2}}
pytestmark = [pytest.mark.latex, needs_latex]


@pytest.mark.parametrize("part", ["Method", "Title and Abstract"])
async def test_latex_error_is_fixed_in_its_part_from_the_log(swarm: Swarm, part: str) -> None:
    broken = "We change the divisor with \\divisorize{} and keep everything else fixed."
    fixed = "We change the divisor and keep everything else fixed: FIXEDNOW."
    sections = section_replies(**{part.replace(" ", "_"): broken})
    with FakeOpenAI() as llm:
        for name, reply in zip(PARTS, sections, strict=True):
            llm.add({"match": f'Write the section \\"{name}\\"', "content": reply})
        llm.add({"match": "The paper has problems in the part", "content": f"```latex\n{fixed}\n```"})
        out = await swarm.run([writer_seed(IDEA), WRITER], api_base=llm.api_base)
        requests = list(llm.requests)
    assert out.status == "completed" and not out.of("role_failed")
    assert [d["section"] for d in out.of("draft")] == PARTS
    # the fix request named the part and quoted the compiler's error
    (fix,) = [r for r in requests if "The paper has problems" in json.dumps(r["messages"])]
    prompt = fix["messages"][-1]["content"]
    assert f'part "{part}"' in prompt and "Undefined control sequence" in prompt and "\\divisorize" in prompt
    assert any(f"compilation failed; fixing {part}" in t for t in out.logs("warning"))
    (paper,) = out.of("paper")
    assert paper["compiled"] is True and paper["revision"] == 0 and paper["pages"] >= 1
    assert paper["pdf"] == f"ideas/{IDEA}/paper/paper_rev0.pdf"
    paper_dir = out.idea_dir(IDEA) / "paper"
    tex = (paper_dir / "template.tex").read_text()
    assert "\\divisorize" not in tex and tex.count(fixed) == 1
    assert "\\section{Abstract}" not in tex  # the abstract is fixed in place, not added as a section
    assert "FIXEDNOW" in extract_text(out.run_dir / paper["pdf"])
    assert (paper_dir / "last_good.pdf").read_bytes() == (out.run_dir / paper["pdf"]).read_bytes()


async def test_a_failed_revision_keeps_the_last_good_pdf(swarm: Swarm) -> None:
    broken = "Revised with \\divisorize{} everywhere."
    out = await swarm.run(
        [
            writer_seed(IDEA),
            {**WRITER, "params": {**WRITER["params"], "fix_rounds": 1}},
            {
                "name": "reviewer_panel",
                "params": {"num_reviewers": 1, "num_reflections": 1, "improvement_rounds": 1, "parallel": False},
            },
        ],
        replies={
            "writer": [
                *section_replies(Results="The first version of the results, GOODRESULTS."),
                '{"parts": ["Results"], "plan": "Say more about the results."}',
                f"```latex\n{broken}\n```",  # the revised Results do not compile
                f"```latex\n{broken} Still.\n```",  # and the fix does not help
            ],
            "reviewer_panel": [
                review_json(3, weaknesses=["Results are thin."]),
                review_json(3, summary="Area chair: thin results."),
                review_json(4),
                review_json(4, summary="Area chair: revision reviewed."),
            ],
        },
    )
    assert out.status == "completed" and not out.of("role_failed")
    rev0, rev1 = out.of("paper")
    assert (rev0["revision"], rev0["compiled"]) == (0, True)
    assert (rev1["revision"], rev1["compiled"]) == (1, False)
    pdf0, pdf1 = out.run_dir / rev0["pdf"], out.run_dir / rev1["pdf"]
    assert pdf1.name == "paper_rev1.pdf" and pdf1.read_bytes() == pdf0.read_bytes()
    assert "GOODRESULTS" in extract_text(pdf1)
    assert any("keeping the last good PDF" in t for t in out.logs("error"))
    assert [c["stage"] for c in out.calls("writer")][-3:] == ["revise/plan", "revise/Results", "fix_latex/Results"]
    # the panel reviewed the revision anyway (the last good PDF), and asked for no further revision
    assert [r["revision"] for r in out.of("review")] == [0, 1]
    assert [r["revision"] for r in out.of("revision")] == [1]
    history = json.loads((out.idea_dir(IDEA) / "reviews.json").read_text())["history"]
    assert [h["revision"] for h in history] == [0, 1]
