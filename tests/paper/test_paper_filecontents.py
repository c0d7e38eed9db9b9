"""AI Scientist templates embed references.bib with filecontents: merged citations must extend it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciswarm.paper import compile_pdf, extract_text, list_keys, merge_bibtex
from sciswarm.paper.bib import unpack_filecontents

TEX = r"""\documentclass{article}
\usepackage{natbib}
\begin{filecontents}{references.bib}
@article{lecun1998gradient,
  title = {Gradient-based learning applied to document recognition},
  author = {LeCun, Yann and Bottou, L{\'e}on and Bengio, Yoshua and Haffner, Patrick},
  journal = {Proceedings of the IEEE}, year = {1998}
}
\end{filecontents}
\begin{document}
Convolutions \citep{lecun1998gradient}; attention \citep{vaswani2017attention}.
\bibliographystyle{plainnat}
\bibliography{references}
\end{document}
"""
NEW = """@inproceedings{vaswani2017attention,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and others},
  booktitle = {Advances in Neural Information Processing Systems}, year = {2017}
}"""


def test_unpacked_then_merged_keeps_the_template_entries(tmp_path: Path) -> None:
    (tmp_path / "template.tex").write_text(TEX)
    assert unpack_filecontents(tmp_path, "template.tex") == ["references.bib"]
    assert unpack_filecontents(tmp_path, "template.tex") == []  # never overwrites
    merge_bibtex(tmp_path / "references.bib", NEW)
    assert list_keys(tmp_path / "references.bib") == ["lecun1998gradient", "vaswani2017attention"]


@pytest.mark.latex
async def test_both_citations_resolve_in_the_pdf(tmp_path: Path) -> None:
    (tmp_path / "template.tex").write_text(TEX)
    unpack_filecontents(tmp_path, "template.tex")
    merge_bibtex(tmp_path / "references.bib", NEW)
    result = await compile_pdf(tmp_path, "template.tex", timeout_s=60)
    assert result.ok and result.pdf is not None
    text = extract_text(result.pdf)
    assert "LeCun et al., 1998" in text and "Vaswani et al., 2017" in text and "(?)" not in text
    assert "Attention is all you need" in text
