"""Layout problems: overfull boxes and floats too large in the pdflatex log (a real log's excerpt, and real
compiles), figures and tables never referenced (a static check), and which written part each is in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from paper_support import PREAMBLE, compile_sync, line_of, needs_latex, write_png

from sciswarm.agents.layout_fixes import layout_fixes
from sciswarm.paper import CompileResult
from sciswarm.paper.checks import check_paper
from sciswarm.paper.sections import TexDocument
from sciswarm.paper.texlog import LatexIssue, dedupe, parse_log

# An excerpt of the log of a real compile_pdf run (pdflatex with max_print_line=1000 and microtype):
# the file's opening line, then everything from the first overfull box on (trailing blanks stripped, one long
# word cut). The source:
#   8-11  a table whose tabular is too wide          12-14 \input{results_table} (a tabular too wide)
#   13    text with a long \texttt word; "a) and b)" in the box display TeX prints
#   15-19 a figure with \rule{3cm}{30cm}             20 two rules 0.5 pt and 4 pt too wide
#   21-23 a tabular* wider than \linewidth           24 a display equation too wide
#   25    \ref{fig:nothere}
REAL_LOG = r"""(./template.tex
LaTeX Font Info:    External font `cmex10' loaded for size
(Font)              <7> on input line 8.

Overfull \hbox (133.723pt too wide) in paragraph at lines 8--11
 [][]
 []

Package microtype Info: Loading generic protrusion settings for font family
(microtype)             `cmtt' (encoding: OT1).
(./results_table.tex
LaTeX Font Info:    External font `cmex10' loaded for size
(Font)              <6> on input line 5.

Overfull \hbox (142.10704pt too wide) in paragraph at lines 5--12
 [][]
 []

)

LaTeX Warning: Float too large for page by 327.52711pt on input line 19.


Overfull \hbox (136.80417pt too wide) in paragraph at lines 13--20
\OT1/cmr/m/n/10 (-20) Table 1[] cov-ers cases a) and b) with \OT1/cmtt/m/n/10 averyveryverylongidentifierthatcannot
 []


Overfull \hbox (0.5pt too wide) in paragraph at lines 20--20
[][]
 []


Overfull \hbox (4.0pt too wide) in paragraph at lines 20--20
[][]
 []


Overfull \hbox (158.55777pt too wide) in alignment at lines 21--23
[] []
 []


Overfull \hbox (15.0pt too wide) in paragraph at lines 21--24
[][]
 []


Overfull \hbox (218.65948pt too wide) detected at line 24
\OML/cmm/m/it/10 a \OT1/cmr/m/n/10 = \OML/cmm/m/it/10 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
 []


LaTeX Warning: Reference `fig:nothere' on page 1 undefined on input line 25.

[1{/var/lib/texmf/fonts/map/pdftex/updmap/pdftex.map}

] [2] (./template.aux)

LaTeX Warning: There were undefined references.

 )
Output written on template.pdf (2 pages, 71639 bytes).
"""


def _where(issue: LatexIssue) -> tuple[str, str | None, int | None, float | None]:
    return issue.kind, issue.file, issue.line, issue.size_pt


def test_overfull_boxes_and_floats_in_a_real_log() -> None:
    issues = parse_log(REAL_LOG)
    assert [_where(i) for i in issues] == [
        ("overfull", "template.tex", 8, 133.723),
        ("overfull", "results_table.tex", 5, 142.10704),
        ("float-too-large", "template.tex", 19, 327.52711),
        ("overfull", "template.tex", 13, 136.80417),
        # the 0.5 pt box is under MIN_PT and not reported; the 4 pt one is (the writer's tolerance skips it)
        ("overfull", "template.tex", 20, 4.0),
        ("overfull", "template.tex", 21, 158.55777),
        ("overfull", "template.tex", 21, 15.0),
        ("overfull", "template.tex", 24, 218.65948),
        # "a) and b)" in the box display is not taken for the end of template.tex
        ("undefined-reference", "template.tex", 25, None),
    ]
    assert all(i.severity == "warning" for i in issues)
    table, _, tall, text, _, alignment, _, equation, ref = issues
    assert table.message.startswith("a table or figure is 134 pt wider than the text (lines 8--11)")
    assert "\\resizebox{\\linewidth}{!}{...}" in table.message and table.context is None
    assert tall.message.startswith("a figure or table is 328 pt taller than the page")
    assert text.message.startswith("a line of text is 137 pt wider than the text")
    assert text.context is not None and text.context.startswith("Table 1 cov-ers cases a) and b) with averyvery")
    assert "\\OT1" not in text.context and "(-20)" not in text.context
    assert alignment.message.startswith("a table (or aligned equation) is 159 pt wider")
    assert equation.message.startswith("an equation is 219 pt wider than the text")
    assert "no \\label has this key" in ref.message and "fig:nothere" in ref.message
    assert str(table).startswith("warning: template.tex:8: a table or figure is 134 pt wider")


def test_a_box_display_without_its_blank_line_is_not_swallowed() -> None:
    log = (
        "(./template.tex\nOverfull \\hbox (20.0pt too wide) in paragraph at lines 3--4\n[][] \n"
        "LaTeX Warning: Reference `x' on page 1 undefined on input line 9.\n"
    )
    kinds = [(i.kind, i.line) for i in parse_log(log)]
    assert kinds == [("overfull", 3), ("undefined-reference", 9)]


def test_two_floats_alike_on_different_lines_stay_two_issues() -> None:
    log = "(./template.tex\n" + "".join(
        f"LaTeX Warning: Float too large for page by 327.52711pt on input line {n}.\n\n" for n in (19, 40)
    )
    assert [(i.kind, i.line) for i in dedupe(parse_log(log))] == [("float-too-large", 19), ("float-too-large", 40)]


def _folder(tmp_path: Path, body: str, files: dict[str, str] | None = None) -> Path:
    folder = tmp_path / "paper"
    folder.mkdir()
    (folder / "template.tex").write_text(
        "\\documentclass{article}\n\\usepackage{graphicx}\n\\begin{document}\n" + body + "\n\\end{document}\n"
    )
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder


def _float(env: str, label: str) -> str:
    return f"\\begin{{{env}}}\n\\centering\nX\n\\caption{{C.}}\\label{{{label}}}\n\\end{{{env}}}\n"


def test_figures_and_tables_never_referenced(tmp_path: Path) -> None:
    body = (
        _float("figure", "fig:a")  # lines 4-8, never referenced
        + _float("figure*", "fig:b")  # \cref with a list
        + _float("table", "tab:c")  # \autoref
        + _float("table", "tab:d")  # a range
        + _float("figure", "fig:e")  # only referenced in a comment
        + "\\begin{figure}\nno label\n\\end{figure}\n"  # no label: nothing to reference
        + "See \\cref{fig:x, fig:b}, \\autoref{tab:c}, \\crefrange{tab:d}{tab:z}. % \\ref{fig:e}\n"
        + "\\input{generated}\n"
    )
    folder = _folder(tmp_path, body, {"generated.tex": _float("table", "tab:gen")})
    problems = check_paper(folder)
    assert problems == [
        "template.tex:4: the figure labelled `fig:a` is never referenced in the text; refer to it where the text "
        "discusses it (Figure~\\ref{fig:a}), or remove the figure if the text does not need it.",
        "template.tex:24: the figure labelled `fig:e` is never referenced in the text; refer to it where the text "
        "discusses it (Figure~\\ref{fig:e}), or remove the figure if the text does not need it.",
        "generated.tex:1: the table labelled `tab:gen` is never referenced in the text; refer to it where the text "
        "discusses it (Table~\\ref{tab:gen}), or remove the table if the text does not need it.",
    ]


# ---- real compiles ---------------------------------------------------------------------------------------
WIDE_TABULAR = r"""\begin{tabular}{lcccccccc}
\toprule
Method & Accuracy one & Accuracy two & Accuracy three & Accuracy four & Accuracy five & Accuracy six & Loss & Time \\
\midrule
Ours & 0.97 & 0.96 & 0.95 & 0.94 & 0.93 & 0.92 & 0.08 & 12 \\
\bottomrule
\end{tabular}"""


def _paper(tmp_path: Path, results: str, *, measure: str = "") -> Path:
    """A paper with an Introduction, the given Results and a Conclusion (PREAMBLE of paper_support)."""
    folder = tmp_path / "paper"
    folder.mkdir()
    write_png(folder / "loss.png")
    (folder / "template.tex").write_text(
        PREAMBLE + f"\\newcommand{{\\widetab}}{{{WIDE_TABULAR}}}\n"
        "\\begin{document}\n\\maketitle\n\\begin{abstract}\nWe measure.\n\\end{abstract}\n"
        "\\section{Introduction}\nWe study tables.\n\n"
        f"\\section{{Results}}\n{results}\n\n"
        f"\\section{{Conclusion}}\nTables matter.{measure}\n\\end{{document}}\n"
    )
    return folder


def _layout(result: CompileResult, folder: Path, tolerance: float = 10) -> dict[str, list[str]]:
    found = layout_fixes(TexDocument((folder / "template.tex").read_text()), result.errors, "template.tex", tolerance)
    assert found.elsewhere == []
    return found.by_part


@pytest.mark.latex
@needs_latex
def test_a_tabular_wider_than_the_page_is_found_in_results_with_its_width(tmp_path: Path) -> None:
    table = "Table~\\ref{tab:wide} has it all.\n\\begin{table}[t]\n\\centering\n\\caption{All.}\\label{tab:wide}\n"
    measure = "\\setbox0=\\hbox{\\widetab}\\typeout{TABWIDTH=\\the\\wd0;TEXTWIDTH=\\the\\linewidth;}"
    folder = _paper(tmp_path, table + "\\widetab\n\\end{table}", measure=measure)
    result = compile_sync(folder)
    assert result.ok, result.feedback()
    (wide,) = [e for e in result.errors if e.kind == "overfull"]
    log = (folder / "template.log").read_text()
    tab, text = (float(x) for x in re.search(r"TABWIDTH=([\d.]+)pt;TEXTWIDTH=([\d.]+)pt;", log).groups())  # type: ignore[union-attr]
    assert wide.size_pt == pytest.approx(tab - text, abs=0.01) and wide.size_pt > 150
    assert (wide.severity, wide.file) == ("warning", "template.tex")
    assert f"is {tab - text:.0f} pt wider than the text" in wide.message
    by_part = _layout(result, folder)
    assert list(by_part) == ["Results"] and "pt wider than the text" in by_part["Results"][0]

    # the fix the model is told about: the tabular scaled to the text width
    tex = folder / "template.tex"
    tex.write_text(tex.read_text().replace("\\widetab\n", "\\resizebox{\\linewidth}{!}{\\widetab}\n"))
    fixed = compile_sync(folder)
    assert fixed.ok and not [e for e in fixed.errors if e.kind == "overfull"], fixed.feedback()
    assert _layout(fixed, folder) == {}


@pytest.mark.latex
@needs_latex
def test_a_float_too_large_and_an_undefined_reference_are_found_in_their_parts(tmp_path: Path) -> None:
    tall = "Figure~\\ref{fig:tall} and Figure~\\ref{fig:gone}.\n\\begin{figure}[t]\n\\centering\n\\rule{3cm}{30cm}\n"
    folder = _paper(tmp_path, tall + "\\caption{Tall.}\\label{fig:tall}\n\\end{figure}")
    result = compile_sync(folder)
    assert result.ok, result.feedback()
    (big,) = [e for e in result.errors if e.kind == "float-too-large"]
    assert big.size_pt is not None and big.size_pt > 200 and big.line is not None
    assert "\\end{figure}" in (folder / "template.tex").read_text().splitlines()[big.line - 1]
    by_part = _layout(result, folder)
    assert list(by_part) == ["Results"]
    messages = sorted(p.split(": ", 2)[2] for p in by_part["Results"])
    assert messages[0].startswith("Reference `fig:gone' is undefined")
    assert messages[1].startswith(f"a figure or table is {big.size_pt:.0f} pt taller than the page")


def test_small_overfulls_and_the_preamble_are_not_sent(tmp_path: Path) -> None:
    tex = _paper(tmp_path, "Plain results.") / "template.tex"
    doc, at = TexDocument(tex.read_text()), line_of(tex, "Plain results.")

    def issue(kind: str, file: str, line: int, size: float | None = None) -> LatexIssue:
        return LatexIssue(severity="warning", kind=kind, message="m", file=file, line=line, size_pt=size)  # type: ignore[arg-type]

    issues = [
        issue("overfull", "template.tex", 2, 50.0),  # in the template's preamble
        issue("overfull", "template.tex", at, 9.5),  # within the tolerance
        issue("overfull", "results_table.tex", 5, 80.0),  # in the table code wrote
        issue("undefined-citation", "template.tex", at),  # not a layout problem
    ]
    found = layout_fixes(doc, issues, "template.tex", tolerance_pt=10)
    assert found.by_part == {} and [i.line for i in found.elsewhere] == [2, 5]
    assert list(layout_fixes(doc, issues, "template.tex", tolerance_pt=5).by_part) == ["Results"]
    assert found.remaining(2)[0].startswith("layout problems outside the written parts (not sent to the model):")


@pytest.mark.latex
@needs_latex
def test_the_sample_paper_has_no_layout_problems(compiled: CompileResult) -> None:
    assert [e for e in compiled.errors if e.kind in ("overfull", "float-too-large")] == []
