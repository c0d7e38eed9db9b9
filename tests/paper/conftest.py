"""Fixtures of the paper tests (helpers in paper_support.py)."""

from __future__ import annotations

import pytest
from paper_support import HAVE_LATEX, compile_sync, make_paper

from sciswarm.paper import CompileResult


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> CompileResult:
    """The sample paper, compiled once for the tests that only read the PDF."""
    if not HAVE_LATEX:
        pytest.skip("pdflatex/bibtex not installed")
    result = compile_sync(make_paper(tmp_path_factory.mktemp("compiled") / "paper"))
    assert result.ok, result.feedback()
    return result
