"""A template's LaTeX needs: what `template check` reports missing (with the Debian package), only what is
required (not what a style merely tests for, as natbib does for citeref), a fixture using cleveref and multirow
that compiles with real pdflatex, and a missing .sty named by the failed compile."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from paper_support import needs_latex

from sciswarm.paper import compile_pdf, extract_text
from sciswarm.paper.tex_packages import UNKNOWN, debian_package, install_command
from sciswarm.paper.texlog import missing_packages, parse_blg, parse_log
from sciswarm.templates import missing_tex_files
from sciswarm.templates.latex_needs import input_files, installed, needed_files, template_needs
from sciswarm.templates.loading import inspect_template

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURE = FIXTURES / "latex_extra_template"
AI_SCIENTIST_LATEX = FIXTURES / "ai_scientist_latex"  # templates/*/latex/ of The AI Scientist: ICLR style, natbib
HAVE_KPSEWHICH = shutil.which("kpsewhich") is not None


def test_debian_packages_of_the_ai_scientist_templates_needs() -> None:
    for name in ("cleveref.sty", "multirow.sty", "titletoc.sty", "nicefrac.sty", "units.sty", "wrapfig.sty"):
        assert debian_package(name) == "texlive-latex-extra"
    assert debian_package("algorithmic.sty") == "texlive-science"
    assert debian_package("booktabs.sty") == "texlive-latex-recommended"
    assert debian_package("nosuchpkg.sty") == UNKNOWN == "texlive-latex-extra or texlive-science"
    assert install_command(["cleveref.sty", "nosuchpkg.sty", "siunitx.sty"]) == (
        "apt-get install -y texlive-latex-extra texlive-science"
    )


def test_needs_come_from_every_kind_of_declaration_and_follow_the_templates_own_styles() -> None:
    tex = (
        "\\documentclass[11pt]{article}\n% \\usepackage{commented}\n\\usepackage[numbers]{natbib}\n"
        "\\usepackage{amsmath, amssymb}\n\\RequirePackage{xcolor}\n\\bibliographystyle{plainnat}\n"
    )
    assert needed_files(tex) == [
        "article.cls",
        "natbib.sty",
        "amsmath.sty",
        "amssymb.sty",
        "xcolor.sty",
        "plainnat.bst",
    ]
    latex = FIXTURE / "latex"
    needs, own = template_needs(latex, (latex / "template.tex").read_text())
    assert own == {"fixturestyle.sty"}
    assert needs["cleveref.sty"] == needs["multirow.sty"] == "template.tex"
    assert needs["nicefrac.sty"] == needs["titletoc.sty"] == "fixturestyle.sty"  # required by the template's style


def test_what_a_style_tests_for_or_names_in_a_message_is_not_a_requirement() -> None:
    sty = (
        "\\@ifpackageloaded{citeref}{\\PackageError{natbib}\n  {The `citeref' package must be loaded after natbib}%\n"
        "  {Move \\protect\\usepackage{citeref} to after \\string\\usepackage{natbib}}}{}\n"
        "\\@ifclassloaded{agu2001}{\\PackageError{natbib}{x}{remove \\protect\\usepackage{natbib}}\\endinput}{}\n"
        "\\IfFileExists{extra.sty}{\\RequirePackage{extra}}{\\typeout{\\usepackage{typed}}}\n"
        "\\@ifpackagewith{babel}{german}{\\RequirePackage{germanfix}}{}\n"
        "\\IfPackageLoadedTF{hyperref}{}{\\RequirePackage{url}}\n"
        "\\PackageWarningNoLine{mine}{load \\usepackage{warned} first}\n"
        "\\RequirePackage[numbers]{natbib}\\RequirePackage{xcolor}\n"
        "\\InputIfFileExists{mine.cfg}{}{}\\input{mine-defs}\n"
    )
    assert needed_files(sty) == ["natbib.sty", "xcolor.sty"]  # the requirements around the tests still count
    assert input_files(sty) == ["mine-defs.tex"]
    assert input_files("\\input sections/intro \\include{../outside}\\input{/etc/passwd}") == ["sections/intro.tex"]


@pytest.mark.skipif(not HAVE_KPSEWHICH, reason="no TeX installation (kpsewhich)")
def test_an_ai_scientist_template_gets_no_false_warning_and_a_truly_missing_package_still_warns(
    tmp_path: Path,
) -> None:
    """The AI Scientist's layout: template.tex loads iclr2024_conference.sty (beside it), which requires natbib.sty
    (beside it too); natbib only tests whether citeref is loaded, and citeref is not installed here."""
    assert installed(["citeref.sty"]) == set()  # else the test would prove nothing
    template = tmp_path / "nanogpt_like"
    shutil.copytree(FIXTURES / "tiny_template", template)
    shutil.rmtree(template / "latex")
    shutil.copytree(AI_SCIENTIST_LATEX, template / "latex")
    latex = template / "latex"
    needs, own = template_needs(latex, (latex / "template.tex").read_text())
    assert {"natbib.sty", "fancyhdr.sty", "iclr2024_conference.sty", "iclr2024_conference.bst"} <= own
    assert needs["natbib.sty"] == needs["eso-pic.sty"] == "iclr2024_conference.sty"
    assert "citeref.sty" not in needs and "cite.sty" not in needs and "index.sty" not in needs
    (check,) = [c for c in inspect_template(template).checks if c.name == "latex packages"]
    assert check.status == "pass", check.detail

    sty = latex / "iclr2024_conference.sty"
    sty.write_text(
        sty.read_text().replace("\\RequirePackage{natbib}", "\\RequirePackage{natbib}\n\\RequirePackage{nosuchpkg}")
    )
    (latex / "math_commands.tex").write_text("\\usepackage{alsomissingpkg}\n\\newcommand{\\R}{\\mathbb{R}}\n")
    tex = latex / "template.tex"
    tex.write_text(tex.read_text().replace("\\usepackage{titletoc}", "\\usepackage{titletoc}\n\\input{math_commands}"))
    (check,) = [c for c in inspect_template(template).checks if c.name == "latex packages"]
    assert check.status == "warn"
    assert "nosuchpkg.sty (for iclr2024_conference.sty)" in check.detail
    assert "alsomissingpkg.sty (for math_commands.tex)" in check.detail
    assert "citeref" not in check.detail


@pytest.mark.skipif(not HAVE_KPSEWHICH, reason="no TeX installation (kpsewhich)")
def test_check_reports_a_package_that_is_not_installed_with_its_debian_package(tmp_path: Path) -> None:
    template = tmp_path / "needy"
    shutil.copytree(FIXTURE, template)
    tex = template / "latex" / "template.tex"
    tex.write_text(tex.read_text().replace("\\usepackage{multirow}", "\\usepackage{multirow}\n\\usepackage{nosuchpkg}"))
    (template / "latex" / "fixturestyle.sty").write_text(
        "\\ProvidesPackage{fixturestyle}\n\\RequirePackage{nicefrac}\n\\RequirePackage{titletoc}\n"
        "\\RequirePackage{alsomissingpkg}\n\\newcommand{\\method}{M}\n"
    )
    missing = missing_tex_files(template / "latex", tex.read_text())
    assert missing is not None
    assert [(m.name, m.needed_by, m.debian_package) for m in missing] == [
        ("nosuchpkg.sty", "template.tex", UNKNOWN),
        ("alsomissingpkg.sty", "fixturestyle.sty", UNKNOWN),
    ]
    report = inspect_template(template)
    (check,) = [c for c in report.checks if c.name == "latex packages"]
    assert check.status == "warn"  # the code still runs; the paper cannot compile until it is installed
    assert "nosuchpkg.sty: texlive-latex-extra or texlive-science" in check.detail
    assert "alsomissingpkg.sty (for fixturestyle.sty)" in check.detail
    assert "Install with: apt-get install -y texlive-latex-extra texlive-science" in check.detail


@pytest.mark.skipif(not HAVE_KPSEWHICH, reason="no TeX installation (kpsewhich)")
def test_the_fixture_needs_nothing_that_is_not_installed() -> None:
    report = inspect_template(FIXTURE)
    assert report.ok, report.errors
    (check,) = [c for c in report.checks if c.name == "latex packages"]
    assert check.status == "pass", check.detail


@pytest.mark.latex
@needs_latex
async def test_a_template_using_cleveref_and_multirow_compiles(tmp_path: Path) -> None:
    paper = tmp_path / "paper"
    shutil.copytree(FIXTURE / "latex", paper)
    result = await compile_pdf(paper)
    assert result.ok, result.feedback()
    assert result.pages >= 1 and result.missing_packages == [] and result.missing_hint() == ""
    assert [e for e in result.errors if e.severity == "error"] == []
    text = extract_text(result.pdf) if result.pdf else ""
    assert "Table 1 shows" in text and "section 4 describes" in text  # \Cref / \cref resolved by cleveref
    assert "Robert and Casella" in text  # natbib + bibtex


@pytest.mark.latex
@needs_latex
async def test_a_missing_sty_fails_the_compile_naming_it_and_the_debian_package(tmp_path: Path) -> None:
    paper = tmp_path / "paper"
    paper.mkdir()
    (paper / "template.tex").write_text(
        "\\documentclass{article}\n\\usepackage{nosuchpkg}\n\\begin{document}\nHello.\n\\end{document}\n"
    )
    result = await compile_pdf(paper)
    assert not result.ok
    (error,) = [e for e in result.errors if e.severity == "error"]
    assert error.kind == "missing-file"
    assert "File `nosuchpkg.sty' not found" in error.message
    assert "install the Debian package texlive-latex-extra or texlive-science" in error.message
    assert result.missing_packages == ["nosuchpkg.sty"]
    assert result.missing_hint() == (
        "LaTeX not installed: nosuchpkg.sty (apt-get install -y texlive-latex-extra texlive-science); "
    )
    assert "nosuchpkg.sty" in result.feedback() and "texlive-latex-extra" in result.feedback()


def test_log_and_blg_parsing_name_the_package_of_a_missing_file() -> None:
    log = "! LaTeX Error: File `cleveref.sty' not found.\n\nType X to quit.\n./t.tex:9: Emergency stop.\n"
    (issue,) = parse_log(log)
    assert issue.kind == "missing-file" and "the LaTeX package cleveref.sty" in issue.message
    assert "texlive-latex-extra" in issue.message
    blg = "I couldn't open style file iclr2024.bst\n---line 3 of file template.aux\n"
    (bst,) = parse_blg(blg)
    assert "the bibliography style iclr2024.bst" in bst.message and bst.line == 3
    assert missing_packages([issue, bst]) == ["cleveref.sty", "iclr2024.bst"]
    (figure,) = parse_log("! LaTeX Error: File `plot.png' not found.\n./t.tex:4: Emergency stop.\n")
    assert "Debian" not in figure.message  # the paper's own file: no package to install
