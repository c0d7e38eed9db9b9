"""The paper toolchain: compile LaTeX safely, check it, manage BibTeX, read and render PDFs.

Pure tools (no LLM) for the writer and reviewer roles.
"""

from sciswarm.paper.bib import BibEntry, MergeResult, bib_keys, list_keys, merge_bibtex
from sciswarm.paper.checks import check_paper
from sciswarm.paper.latex import CompileResult, compile_pdf
from sciswarm.paper.pdftext import PdfTextError, extract_text, page_count, without_urls
from sciswarm.paper.render import RenderError, render_page_png
from sciswarm.paper.texlog import LatexIssue

__all__ = [
    "BibEntry",
    "CompileResult",
    "LatexIssue",
    "MergeResult",
    "PdfTextError",
    "RenderError",
    "bib_keys",
    "check_paper",
    "compile_pdf",
    "extract_text",
    "list_keys",
    "merge_bibtex",
    "page_count",
    "render_page_png",
    "without_urls",
]
