"""The writer's layout fixes with real pdflatex and the scripted model: a compile that succeeds but whose PDF has
a table wider than the page, a float taller than the page, a figure never referenced or a reference to no label
goes back to the part that holds it; when the fix rounds run out the PDF is kept and what is left is logged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_support import Outcome, Swarm, needs_latex, section_replies, writer_seed

from sciswarm.agents.writer import WriterParams
from sciswarm.paper import extract_text
from sciswarm.paper.texlog import parse_log

IDEA = "divisor_study"
pytestmark = [pytest.mark.latex, needs_latex]

WIDE = r"""Table~\ref{tab:wide} compares every accuracy, WIDETABLE.
\begin{table}[t]
\centering
\caption{Every accuracy.}\label{tab:wide}
%s
\end{table}"""
TABULAR = r"""\begin{tabular}{lcccccccc}
\toprule
Method & Accuracy one & Accuracy two & Accuracy three & Accuracy four & Accuracy five & Accuracy six & Loss & Time \\
\midrule
Ours & 0.97 & 0.96 & 0.95 & 0.94 & 0.93 & 0.92 & 0.08 & 12 \\
\bottomrule
\end{tabular}"""
TOO_WIDE = WIDE % TABULAR
RESIZED = WIDE % ("\\resizebox{\\linewidth}{!}{%\n" + TABULAR + "}")


def writer(fix_rounds: int) -> dict[str, Any]:
    params: dict[str, Any] = {"refine": False, "citation_rounds": 0, "fix_rounds": fix_rounds}
    if "audit" in WriterParams.model_fields:
        params["audit"] = False  # the claims audit (its own tests) would ask the model too
    return {"name": "writer", "params": params}


def latex(body: str) -> str:
    return f"```latex\n{body}\n```"


def fix(body: str) -> str:
    """A fix reply: the complete part, with the generated table the writer put into it."""
    return latex(body + "\n\\input{results_table}")


def stages(out: Outcome) -> list[str]:
    return [c["stage"] for c in out.calls("writer")]


def layout_left(paper_dir: Path) -> list[str]:
    """Layout problems over 10 pt in the main file, from the last compile's own log."""
    issues = parse_log((paper_dir / "template.log").read_text())
    return [
        str(i)
        for i in issues
        if i.file == "template.tex" and i.kind in ("overfull", "float-too-large") and (i.size_pt or 0) > 10
    ]


async def test_a_table_wider_than_the_page_is_resized_and_the_next_compile_is_clean(swarm: Swarm) -> None:
    out = await swarm.run(
        [writer_seed(IDEA), writer(2)],
        replies={"writer": [*section_replies(Results=TOO_WIDE), fix(RESIZED)]},
    )
    assert out.status == "completed" and not out.of("role_failed"), (out.meta["reason"], out.logs())
    assert stages(out)[-1] == "fix_layout/Results" and stages(out).count("fix_layout/Results") == 1
    (fixing,) = [t for t in out.logs("warning") if "layout problem(s); fixing" in t]
    assert fixing.startswith("the PDF has 1 layout problem(s); fixing Results:")
    assert "a table or figure is" in fixing and "pt wider than the text" in fixing and "\\resizebox" in fixing
    assert not any("layout problems remain" in t for t in out.logs())
    (paper,) = out.of("paper")
    assert (paper["compiled"], paper["reverted"]) == (True, [])
    paper_dir = out.idea_dir(IDEA) / "paper"
    tex = (paper_dir / "template.tex").read_text()
    assert "\\resizebox{\\linewidth}{!}" in tex and (paper_dir / "last_good.tex").read_text() == tex
    assert layout_left(paper_dir) == []  # the compile after the fix is clean
    assert "WIDETABLE" in extract_text(out.run_dir / paper["pdf"])


@pytest.mark.parametrize("fix_rounds", [0, 1])
async def test_an_overfull_the_fix_rounds_cannot_fix_keeps_the_pdf_and_is_logged(swarm: Swarm, fix_rounds: int) -> None:
    fixes = [fix(TOO_WIDE.replace("WIDETABLE", "STILLWIDE"))] * fix_rounds  # the "fix" changes nothing
    out = await swarm.run(
        [writer_seed(IDEA), writer(fix_rounds)],
        replies={"writer": [*section_replies(Results=TOO_WIDE), *fixes]},
    )
    assert out.status == "completed" and not out.of("role_failed"), (out.meta["reason"], out.logs())
    assert stages(out).count("fix_layout/Results") == fix_rounds
    (left,) = [t for t in out.logs("warning") if "layout problems remain" in t]
    assert left.startswith(f"layout problems remain after {fix_rounds} fix round(s); keeping the PDF as it is:")
    assert "- Results: warning: template.tex:" in left and "pt wider than the text" in left
    (paper,) = out.of("paper")
    assert paper["compiled"] is True and paper["pages"] >= 1
    paper_dir = out.idea_dir(IDEA) / "paper"
    pdf = out.run_dir / paper["pdf"]
    assert pdf.read_bytes() == (paper_dir / "last_good.pdf").read_bytes()
    assert ("STILLWIDE" if fix_rounds else "WIDETABLE") in extract_text(pdf)
    assert len(layout_left(paper_dir)) == 1


async def test_a_figure_never_referenced_then_too_tall_is_fixed_in_two_rounds(swarm: Swarm) -> None:
    figure = "\\begin{figure}[t]\n\\centering\n\\rule{3cm}{%s}\n\\caption{The score.}\\label{fig:score}\n\\end{figure}"
    unreferenced = "The baseline reaches its score.\n" + figure % "30cm"
    referenced = "The baseline reaches its score (Figure~\\ref{fig:score}).\n" + figure % "30cm"
    smaller = "The baseline reaches its score (Figure~\\ref{fig:score}), SMALLFIGURE.\n" + figure % "4cm"
    out = await swarm.run(
        [writer_seed(IDEA), writer(3)],
        replies={"writer": [*section_replies(Results=unreferenced), fix(referenced), fix(smaller)]},
    )
    assert out.status == "completed" and not out.of("role_failed"), (out.meta["reason"], out.logs())
    assert stages(out)[-2:] == ["fix/Results", "fix_layout/Results"], out.logs()
    warnings = out.logs("warning")
    assert any("paper checks found 2 problem(s); fixing Results" in t for t in warnings)
    (fixing,) = [t for t in warnings if "layout problem(s); fixing" in t]
    assert "Results: warning: template.tex:" in fixing and "pt taller than the page" in fixing
    (paper,) = out.of("paper")
    assert paper["compiled"] is True
    paper_dir = out.idea_dir(IDEA) / "paper"
    assert layout_left(paper_dir) == [] and "SMALLFIGURE" in extract_text(out.run_dir / paper["pdf"])
    # the generated table is never referenced either, but code wrote it: only reported
    (left,) = [t for t in warnings if t.startswith("paper check problems left in the final PDF")]
    assert "`tab:results` is never referenced" in left and "fig:score" not in left


async def test_an_undefined_reference_is_fixed_and_the_generated_table_is_only_reported(swarm: Swarm) -> None:
    seed = writer_seed(IDEA)
    # a results table (written by code, not the model) far wider than the page
    means = {f"a_rather_long_metric_name_{i}": 0.5 + i for i in range(8)}
    seed["params"]["files"][f"ideas/{IDEA}/workspace/run_0/final_info.json"] = json.dumps({"toy": {"means": means}})
    broken = "The score is in Figure~\\ref{fig:score} and Table~\\ref{tab:results}."
    fixed = "The score is in Table~\\ref{tab:results}, REFFIXED."
    out = await swarm.run([seed, writer(2)], replies={"writer": [*section_replies(Results=broken), fix(fixed)]})
    assert out.status == "completed" and not out.of("role_failed"), (out.meta["reason"], out.logs())
    assert stages(out).count("fix_layout/Results") == 1
    (fixing,) = [t for t in out.logs("warning") if "layout problem(s); fixing" in t]
    assert "Reference `fig:score' is undefined" in fixing and "results_table" not in fixing
    (elsewhere,) = [t for t in out.logs("warning") if "outside the written parts" in t]
    assert "results_table.tex:" in elsewhere and "pt wider than the text" in elsewhere
    (paper,) = out.of("paper")
    assert paper["compiled"] is True and "REFFIXED" in extract_text(out.run_dir / paper["pdf"])
    log = (out.idea_dir(IDEA) / "paper" / "template.log").read_text()
    assert not [i for i in parse_log(log) if i.kind == "undefined-reference"]


async def test_a_layout_fix_that_breaks_the_compile_goes_back_to_the_version_that_compiled(swarm: Swarm) -> None:
    broken_fix = fix(RESIZED.replace("WIDETABLE", "BROKENFIX \\undefinedlayoutmacro"))
    out = await swarm.run(
        [writer_seed(IDEA), writer(1)],
        replies={"writer": [*section_replies(Results=TOO_WIDE), broken_fix]},
    )
    assert out.status == "completed" and not out.of("role_failed"), (out.meta["reason"], out.logs())
    assert stages(out)[-1] == "fix_layout/Results"
    (paper,) = out.of("paper")
    # the fix did not compile and no round was left: Results go back to the wide table that did
    assert (paper["compiled"], paper["reverted"]) == (True, ["Results"])
    assert "WIDETABLE" in extract_text(out.run_dir / paper["pdf"])
    assert any("layout problems remain after 1 fix round(s)" in t for t in out.logs("warning"))
    paper_dir = out.idea_dir(IDEA) / "paper"
    assert "\\undefinedlayoutmacro" in (paper_dir / "rejected_rev0.tex").read_text()
    assert "\\undefinedlayoutmacro" not in (paper_dir / "template.tex").read_text()


async def test_a_layout_fix_whose_model_fails_for_good_keeps_the_pdf_and_lists_what_is_left(swarm: Swarm) -> None:
    # the scripted writer has no reply left for the layout fix: its model call fails for good there
    out = await swarm.run([writer_seed(IDEA), writer(2)], replies={"writer": section_replies(Results=TOO_WIDE)})
    assert out.status == "completed" and not out.of("role_failed"), (out.meta["reason"], out.logs())
    outcome = out.meta["outcomes"][IDEA]
    assert outcome["outcome"] == "done" and "gave up at fix_layout/Results: scripted replies" in outcome["detail"]
    assert stages(out).count("fix_layout/Results") == 1 and out.calls("writer")[-1]["ok"] is False
    warnings = out.logs("warning")
    assert any(t.startswith("writer gave up at fix_layout/Results: scripted replies") for t in warnings)
    assert any(t.startswith("layout problems remain after 1 fix round(s)") for t in warnings)
    (paper,) = out.of("paper")
    assert (paper["compiled"], paper["reverted"]) == (True, [])
    assert paper["gave_up"].startswith("fix_layout/Results: scripted replies for role 'writer' exhausted after 8")
    text = " ".join(extract_text(out.run_dir / paper["pdf"]).split())
    body, appendix = text.split("Unfinished writing This appendix was written by sciswarm")
    assert "WIDETABLE" in body
    appendix = appendix.replace("fix layout", "fix_layout")  # the tiny template's OT1 font draws \_ as a rule
    assert "The writer gave up at fix_layout/Results: a model call failed for good" in appendix
    assert "exhausted after 8 replies" in appendix
    assert "Results: warning: template.tex:" in appendix and "pt wider than the text" in appendix, appendix
    assert len(layout_left(out.idea_dir(IDEA) / "paper")) == 1
