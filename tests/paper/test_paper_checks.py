"""Static checks of a paper folder (no TeX needed)."""

from __future__ import annotations

from pathlib import Path

from paper_support import BIB, make_paper

from sciswarm.paper.checks import check_paper, strip_tex


def _paper(tmp_path: Path, body: str, *, bib: str = BIB, files: dict[str, str] | None = None) -> Path:
    folder = tmp_path / "paper"
    folder.mkdir()
    (folder / "references.bib").write_text(bib)
    (folder / "template.tex").write_text(
        "\\documentclass{article}\n\\usepackage{graphicx}\n\\begin{document}\n"
        + body
        + "\n\\bibliography{references}\n\\end{document}\n"
    )
    for name, text in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_the_sample_paper_is_clean(tmp_path: Path) -> None:
    assert check_paper(make_paper(tmp_path / "paper")) == []


def test_missing_cite_keys_with_location_and_suggestion(tmp_path: Path) -> None:
    folder = _paper(
        tmp_path,
        "A \\citep[see][p.~3]{vaswani2017attention, vaswani2017attenton}.\n"
        "B \\citet*{Power2022grokking} \\cite{ghost}. % \\cite{commented}\n\\nocite{*}",
    )
    problems = check_paper(folder)
    assert len(problems) == 3, problems
    typo, case, ghost = problems
    assert "`vaswani2017attenton` (template.tex:4)" in typo and "did you mean `vaswani2017attention`" in typo
    assert "differs in case from `power2022grokking`" in case
    assert "`ghost` (template.tex:5)" in ghost and "commented" not in " ".join(problems)


def test_thebibliography_keys_count_and_missing_bib_file_is_reported(tmp_path: Path) -> None:
    folder = _paper(
        tmp_path,
        "\\cite{a1,b2}\n\\begin{thebibliography}{9}\\bibitem{a1} A.\\bibitem[B]{b2} B.\\end{thebibliography}",
    )
    (folder / "references.bib").unlink()
    assert check_paper(folder) == [
        "Bibliography file `references.bib` (from \\bibliography{references}) is not in the paper folder."
    ]


def test_figures_found_with_or_without_extension_and_graphicspath(tmp_path: Path) -> None:
    files = {"loss.png": "png", "figs/acc.pdf": "pdf"}
    body = (
        "\\graphicspath{{figs/}}\n\\includegraphics{loss}\\includegraphics[width=2cm]{loss.png}\n"
        "\\includegraphics{acc}\n\\includegraphics{los.png}\n\\includegraphics{/etc/passwd}"
    )
    problems = check_paper(_paper(tmp_path, body, files=files))
    assert len(problems) == 2, problems
    assert problems[0].startswith("template.tex:7: figure file `los.png` does not exist (did you mean `loss.png`?)")
    assert "Available images: figs/acc.pdf, loss.png" in problems[0]
    assert "template.tex:8: figure `/etc/passwd` points outside the paper folder" in problems[1]


def test_duplicate_sections_across_input_files(tmp_path: Path) -> None:
    body = "\\section{Results}\nx\n\\section{Method}\n\\input{more}\n\\section*{ results }"
    problems = check_paper(_paper(tmp_path, body, files={"more.tex": "\\section{Re{s}ults}\n"}))
    assert problems == [
        "Section `Results` appears 2 times (template.tex:4, template.tex:8); merge them into one section."
    ]


def test_missing_and_escaping_inputs(tmp_path: Path) -> None:
    problems = check_paper(_paper(tmp_path, "\\input{nothere}\n\\input{../../etc/passwd}"))
    assert problems == [
        "template.tex:4: input file `nothere` does not exist in the paper folder.",
        "template.tex:5: \\input{../../etc/passwd} points outside the paper folder; only files inside it can be used.",
    ]


def test_braces_and_environments(tmp_path: Path) -> None:
    body = (
        "\\textbf{bold \\{ escaped \\}} % comment }\n"  # balanced: escapes and comments ignored
        "\\begin{figure}\n\\begin{center}\nx\n\\end{figure}\n"  # mismatch
        "\\emph{open\n"  # never closed
        "\\verb|}| \\begin{verbatim}\n\\end{table}}\n\\end{verbatim}\n"  # verbatim ignored
        "\\end{itemize}"
    )
    problems = check_paper(_paper(tmp_path, body))
    assert problems == [
        "template.tex:9: `{` is never closed.",
        "template.tex:8: \\end{figure} does not match \\begin{center} on line 6.",
        "template.tex:13: \\end{itemize} does not match \\begin{figure} on line 5.",
    ], problems


def test_extra_closing_brace_and_unended_environment(tmp_path: Path) -> None:
    problems = check_paper(_paper(tmp_path, "text }\n\\begin{itemize}\n\\item x"))
    assert "template.tex:4: unmatched `}`." in problems
    assert any("\\end{document} does not match \\begin{itemize} on line 5" in p for p in problems)


def test_strip_tex_keeps_lines_and_escaped_percent() -> None:
    text = "50\\% done % note\n\\begin{verbatim}\n%{\n\\end{verbatim}\nend"
    stripped = strip_tex(text)
    assert stripped.count("\n") == text.count("\n")
    assert stripped.splitlines()[0] == "50\\% done "
    assert "{" not in stripped
