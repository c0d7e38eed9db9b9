"""Helpers of the paper tests: a small paper with figures, citations and a bibliography, and how to read the PDF."""

from __future__ import annotations

import asyncio
import re
import shutil
import zlib
from pathlib import Path

import pytest

from sciswarm.paper import CompileResult, compile_pdf

HAVE_LATEX = shutil.which("pdflatex") is not None and shutil.which("bibtex") is not None
needs_latex = pytest.mark.skipif(not HAVE_LATEX, reason="pdflatex/bibtex not installed")

BIB = r"""@inproceedings{vaswani2017attention,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and Shazeer, Noam},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2017}
}

@article{power2022grokking,
  title = {Grokking: Generalization Beyond Overfitting on Small Algorithmic Datasets},
  author = {Power, Alethea and Burda, Yuri},
  journal = {arXiv preprint arXiv:2201.02177},
  year = {2022}
}
"""

PREAMBLE = r"""\documentclass{article}
\usepackage[numbers]{natbib}
\usepackage{graphicx}
\usepackage{booktabs}
\usepackage{algorithm}
\usepackage{algorithmic}
\usepackage{amsmath}
\usepackage{hyperref}
\title{Grokking Under a Microscope}
\author{Sciswarm Test}
"""

BODY = r"""\begin{document}
\maketitle
\begin{abstract}
We study delayed generalization.
\end{abstract}
\section{Introduction}
Transformers \citep{vaswani2017attention} grok \citet{power2022grokking}; see Figure~\ref{fig:loss}.
\begin{figure}[t]
\centering
\includegraphics[width=0.6\linewidth]{loss}
\caption{Training loss.}\label{fig:loss}
\end{figure}
\begin{table}[t]
\centering
\caption{Results.}\label{tab:res}
\begin{tabular}{lcc}
\toprule
Method & Acc & Loss \\
\midrule
Baseline & 0.91 & 0.21 \\
Ours & 0.97 & 0.08 \\
\bottomrule
\end{tabular}
\end{table}
\begin{algorithm}[t]
\caption{Training}\label{alg:train}
\begin{algorithmic}
\FOR{$t = 1$ to $T$}
\STATE $\theta \gets \theta - \eta \nabla L(\theta)$
\ENDFOR
\end{algorithmic}
\end{algorithm}
\section{Conclusion}
Table~\ref{tab:res} and Algorithm~\ref{alg:train}. %BODY%
\bibliographystyle{plainnat}
\bibliography{references}
\end{document}
"""


def write_png(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2.5))
    ax.plot([0, 1, 2, 3], [1.0, 0.5, 0.3, 0.2], label="loss")
    ax.set_xlabel("epoch")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def make_paper(folder: Path, body_extra: str = "", preamble_extra: str = "") -> Path:
    """A paper with a figure, a booktabs table, an algorithm and natbib citations; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    write_png(folder / "loss.png")
    (folder / "references.bib").write_text(BIB)
    (folder / "template.tex").write_text(PREAMBLE + preamble_extra + BODY.replace("%BODY%", body_extra))
    return folder


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def pdf_contains(pdf: Path, token: bytes) -> bool:
    """True if ``token`` is in the PDF's bytes, raw or inside any (deflated) stream."""
    data = pdf.read_bytes()
    if token in data:
        return True
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            if token in zlib.decompress(m.group(1)):
                return True
        except zlib.error:
            continue
    return False


def compile_sync(folder: Path, **kw: object) -> CompileResult:
    return asyncio.run(compile_pdf(folder, **kw))  # type: ignore[arg-type]
