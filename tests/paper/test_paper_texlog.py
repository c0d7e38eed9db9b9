"""Log parsing on canned pdflatex/bibtex output (no TeX needed)."""

from __future__ import annotations

from sciswarm.paper.texlog import dedupe, output_pages, parse_blg, parse_console, parse_log

FILE_LINE_LOG = r"""This is pdfTeX, Version 3.141592653-2.6-1.40.24 (TeX Live 2022/Debian)
(./template.tex (/usr/share/texlive/texmf-dist/tex/latex/base/article.cls)
LaTeX Warning: Citation `smith2020' on page 1 undefined on input line 12.

Package natbib Warning: Citation `smith2020' on page 1 undefined on input line 30.

LaTeX Warning: Reference `fig:x' on page 1 undefined on input line 14.

./sections/method.tex:7: Undefined control sequence.
l.7 We use \foo
               bar.
Here is how much of TeX's memory you used:
./sections/method.tex:7:  ==> Fatal error occurred, no output PDF file produced!
"""

BANG_LOG = r"""(./template.tex (/usr/share/texlive/texmf-dist/tex/latex/base/article.cls
Document Class: article 2022/07/02 v1.4n Standard LaTeX document class
(/usr/share/texlive/texmf-dist/tex/latex/base/size10.clo)) (./intro.tex
! Missing $ inserted.
<inserted text>
                $
l.3 x_
      1 is a subscript
"""

PROMPT_LOG = r"""(./template.tex
! LaTeX Error: File `/etc/hostname.tex' not found.

Type X to quit or <RETURN> to proceed,
Enter file name:
./template.tex:4: Emergency stop.
<read *>

l.4 \input{/etc/hostname}
                         ^^M
./template.tex:4:  ==> Fatal error occurred, no output PDF file produced!
"""


def test_file_line_errors_and_warnings() -> None:
    issues = dedupe(parse_log(FILE_LINE_LOG))
    err = issues[0]
    assert (err.severity, err.kind, err.file, err.line) == ("error", "latex", "sections/method.tex", 7)
    assert err.message == "Undefined control sequence." and err.context == "We use \\foo"
    assert "sections/method.tex:7: Undefined control sequence." in str(err)
    kinds = [(i.kind, i.line) for i in issues[1:]]
    assert kinds == [("undefined-citation", 12), ("undefined-reference", 14)]  # natbib repeat deduped
    assert all(i.file == "template.tex" for i in issues[1:])
    assert not any("Fatal error" in i.message for i in issues)


def test_bang_error_gets_file_from_nesting_and_line_from_context() -> None:
    [err] = parse_log(BANG_LOG)
    assert (err.file, err.line, err.message) == ("intro.tex", 3, "Missing $ inserted.")


def test_emergency_stop_lends_its_position_to_the_real_error() -> None:
    [err] = parse_log(PROMPT_LOG)
    assert err.kind == "missing-file" and "/etc/hostname.tex" in err.message
    assert (err.file, err.line) == ("template.tex", 4)


def test_blg_errors_and_missing_entries() -> None:
    blg = """The top-level auxiliary file: template.aux
I couldn't open database file refs.bib
---line 3 of file template.aux
 : \\bibdata{refs
 :               }
Warning--I didn't find a database entry for "smith2020"
Repeated entry---line 16 of file references.bib
 :  @article{vaswani2017attention
 :                               ,
"""
    issues = parse_blg(blg)
    assert issues[0].message == "I couldn't open database file refs.bib"
    assert (issues[0].file, issues[0].line) == ("template.aux", 3)
    assert issues[1].kind == "undefined-citation" and "smith2020" in issues[1].message
    assert (issues[2].file, issues[2].line, issues[2].message) == ("references.bib", 16, "Repeated entry")
    assert issues[2].context is not None and "vaswani2017attention" in issues[2].context


def test_console_blocked_reads_even_mid_line() -> None:
    out = (
        "pdflatex: Not reading from /etc/passwd (openin_any = p).\n"
        "pdflatex: Not writing to ../x.txt (openout_any = p).\n"
        "(./template.out)pdflatex: /home/u/.ssh/id_rsa: Permission denied\n"
    )
    msgs = [i.message for i in parse_console(out)]
    assert msgs[0].startswith("reading `/etc/passwd' is not allowed")
    assert msgs[1].startswith("writing `../x.txt' is not allowed")
    assert msgs[2].startswith("reading `/home/u/.ssh/id_rsa' is not allowed")


def test_output_pages() -> None:
    assert output_pages("Output written on template.pdf (3 pages, 123 bytes).") == 3
    assert output_pages("Output written on t.pdf (1 page, 9 bytes).") == 1
    assert output_pages("no output") is None
