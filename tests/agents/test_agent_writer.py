"""Writer failure paths with real pdflatex/bibtex: a LaTeX error fixed from the log; a line the hardened
compiler refuses, traced to its part by the path it names and reverted when the fix does not help; a revision
whose fix does not help (its part goes back to the version that compiled)."""

from __future__ import annotations

import json

import pytest
from agent_support import Swarm, needs_latex, review_json, section_replies, writer_seed
from support.fake_openai import FakeOpenAI

from sciswarm.agents.writer import PARTS
from sciswarm.paper import extract_text

IDEA = "divisor_study"
WRITER = {"name": "writer", "params": {"refine": False, "citation_rounds": 0, "fix_rounds": 2, "audit": False}}
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
    assert (rev0["revision"], rev0["compiled"], rev0["reverted"]) == (0, True, [])
    # the revised Results never compiled: they go back to the version that did, the rest is recompiled
    assert (rev1["revision"], rev1["compiled"], rev1["reverted"]) == (1, True, ["Results"])
    pdf1 = out.run_dir / rev1["pdf"]
    assert pdf1.name == "paper_rev1.pdf" and "GOODRESULTS" in extract_text(pdf1)
    assert any("compiles with Results back at the last compiling version" in t for t in out.logs("warning"))
    paper_dir = out.idea_dir(IDEA) / "paper"
    assert "\\divisorize" in (paper_dir / "rejected_rev1.tex").read_text()  # what did not compile is kept
    assert "\\divisorize" not in (paper_dir / "template.tex").read_text()
    assert [c["stage"] for c in out.calls("writer")][-3:] == ["revise/plan", "revise/Results", "fix_latex/Results"]
    # the panel reviewed the revision anyway (the last good PDF), and asked for no further revision
    assert [r["revision"] for r in out.of("review")] == [0, 1]
    assert [r["revision"] for r in out.of("revision")] == [1]
    history = json.loads((out.idea_dir(IDEA) / "reviews.json").read_text())["history"]
    assert [h["revision"] for h in history] == [0, 1]


async def test_a_refused_line_is_traced_by_its_path_and_reverted_so_a_pdf_comes_out(swarm: Swarm) -> None:
    # \pdfobj file reads past kpathsea's confinement; the hardened compiler refuses it and names the path,
    # not a line: the writer finds the part by the path, asks for a fix, and reverts the part if still broken
    bad = "Our motivation is simple. \\immediate\\pdfobj file {/etc/hostname} GOODINTRO."
    out = await swarm.run(
        [writer_seed(IDEA), WRITER],
        replies={
            "writer": [
                *section_replies(Introduction=bad, Method="We change the divisor, KEPTMETHOD."),
                f"```latex\n{bad} Fixed, I promise.\n```",  # fix round 1 keeps the refused line
                f"```latex\n{bad} Really fixed.\n```",  # and so does round 2
            ]
        },
    )
    assert out.status == "completed" and not out.of("role_failed"), out.meta["reason"]
    (paper,) = out.of("paper")
    assert (paper["compiled"], paper["reverted"]) == (True, ["Introduction"])
    assert [c["stage"] for c in out.calls("writer")][-2:] == ["fix_latex/Introduction", "fix_latex/Introduction"]
    text = extract_text(out.run_dir / paper["pdf"])
    assert "KEPTMETHOD" in text and "GOODINTRO" not in text  # the other parts' writing stays
    paper_dir = out.idea_dir(IDEA) / "paper"
    assert "/etc/hostname" in (paper_dir / "rejected_rev0.tex").read_text()
    assert "/etc/hostname" not in (paper_dir / "template.tex").read_text()
    assert (paper_dir / "last_good.tex").read_text() == (paper_dir / "template.tex").read_text()


async def test_a_revision_whose_model_fails_for_good_is_compiled_from_the_last_text(swarm: Swarm) -> None:
    panel = {"num_reviewers": 1, "num_reflections": 1, "improvement_rounds": 1, "parallel": False}
    out = await swarm.run(
        [writer_seed(IDEA), WRITER, {"name": "reviewer_panel", "params": panel}],
        replies={
            # no reply left for the revision: the writer's model call fails for good at revise/plan
            "writer": section_replies(Results="The first version of the results, GOODRESULTS."),
            "reviewer_panel": [
                review_json(3),
                review_json(3, summary="Area chair: thin results.", weaknesses=["Results are thin."]),
                review_json(4),
                review_json(4, summary="Area chair: revision reviewed."),
            ],
        },
    )
    assert out.status == "completed" and not out.of("role_failed"), out.meta["reason"]
    outcome = out.meta["outcomes"][IDEA]
    assert outcome["outcome"] == "done" and "writer gave up at revise/plan: scripted replies" in outcome["detail"]
    rev0, rev1 = out.of("paper")
    assert rev0["gave_up"] == "" and rev1["gave_up"].startswith("revise/plan: scripted replies for role 'writer'")
    assert (rev1["revision"], rev1["compiled"]) == (1, True)
    assert any(t.startswith("writer gave up at revise/plan: scripted replies") for t in out.logs("warning"))
    text = " ".join(extract_text(out.run_dir / rev1["pdf"]).split())
    body, appendix = text.split("Unfinished writing This appendix was written by sciswarm")
    assert "GOODRESULTS" in body
    assert "The writer gave up at revise/plan: a model call failed for good" in appendix
    assert "review request: Results are thin." in appendix
    assert "Unfinished writing" not in extract_text(out.run_dir / rev0["pdf"])
    assert [r["revision"] for r in out.of("review")] == [0, 1]  # the panel reviewed what the writer kept


async def test_a_part_written_as_nothing_is_asked_for_once_more(swarm: Swarm) -> None:
    # what Qwen2.5-Coder-0.5B answered for the abstract: a title line and nothing else (this crashed the writer)
    sections = section_replies(Title_and_Abstract="We study how the divisor decides the score: ABSTRACTBODY.")
    out = await swarm.run(
        [writer_seed(IDEA), WRITER],
        replies={"writer": ["TITLE: The Divisor Decides", *sections]},
    )
    assert out.status == "completed" and not out.of("role_failed")
    assert [d["section"] for d in out.of("draft")] == PARTS
    stages = [c["stage"] for c in out.calls("writer")]
    assert stages[:2] == ["write/Title and Abstract", "write/Title and Abstract/again"]
    (paper,) = out.of("paper")
    assert "ABSTRACTBODY" in extract_text(out.run_dir / paper["pdf"])


async def test_a_draft_none_of_whose_parts_compile_is_no_paper(swarm: Swarm) -> None:
    # every part reverted to the template's placeholders would be a PDF with no text of the model's (what a 0.5B
    # model's drafts gave): the writer fails saying so, and keeps the draft it rejected
    broken = {p.replace(" ", "_"): f"Text of {p} with \\divisorize{{}} in it." for p in PARTS}
    out = await swarm.run(
        [writer_seed(IDEA), {**WRITER, "params": {**WRITER["params"], "fix_rounds": 0}}],
        replies={"writer": section_replies(**broken)},
    )
    assert out.status == "failed" and not out.of("paper")
    (failed,) = out.of("role_failed")
    assert "none of the written parts compiled: every part went back to the template's text" in failed["error"]
    assert "paper/rejected_rev0.tex" in failed["error"]
    assert "\\divisorize" in (out.idea_dir(IDEA) / "paper" / "rejected_rev0.tex").read_text()


def test_a_reply_cut_off_inside_its_latex_fence_keeps_what_it_wrote() -> None:
    from sciswarm.agents.paper_parts import extract_latex

    cut = "Here is the section:\n```latex\nWe train a small denoiser on four datasets and"  # max_tokens reached
    assert extract_latex(cut) == "We train a small denoiser on four datasets and"
    assert extract_latex("```latex\nA closed block.\n```\ntrailing words") == "A closed block."
    assert extract_latex("No fence at all.") == "No fence at all."
