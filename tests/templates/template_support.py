"""Helpers for the template tests: the shipped templates, a minimal AI-Scientist-style template written from
scratch, and reading a TemplateReport's checks."""

from __future__ import annotations

import json
from pathlib import Path

from sciswarm.templates import TemplateReport

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
REAL = ["2d_diffusion", "grokking"]


# --- a minimal AI-Scientist-style template, written from scratch -------------------------------------

EXPERIMENT = """\
import argparse, json, os
from helper import square

parser = argparse.ArgumentParser()
parser.add_argument("--out_dir", type=str, default="run_0")
args = parser.parse_args()
os.makedirs(args.out_dir, exist_ok=True)
with open("data.txt") as f:
    xs = [float(line) for line in f]
with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
    json.dump({"toy": {"means": {"sum_sq": sum(square(x) for x in xs), "n": len(xs)}}}, f)
"""

PLOT = """\
import json, os
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

labels = {"run_0": "Baseline"}

values = [json.load(open(os.path.join(r, "final_info.json")))["toy"]["means"]["sum_sq"] for r in labels]
plt.bar(list(labels.values()), values)
plt.savefig("bars.png")
"""

TEX = r"""\documentclass{article}
\begin{document}
\section{Introduction}
INTRO HERE \cite{a}
\begin{thebibliography}{1}
\bibitem{a} A. Author. A paper. 2020.
\end{thebibliography}
\end{document}
"""


def write_minimal_template(root: Path, *, experiment: str = EXPERIMENT) -> Path:
    (root / "latex").mkdir(parents=True)
    (root / "experiment.py").write_text(experiment)
    (root / "plot.py").write_text(PLOT)
    (root / "helper.py").write_text("def square(x):\n    return x * x\n")
    (root / "data.txt").write_text("1\n2\n3\n")
    (root / "prompt.json").write_text(json.dumps({"system": "You are a scientist.", "task_description": "Toy."}))
    idea = {
        "Name": "toy",
        "Title": "A toy idea",
        "Experiment": "Sum squares.",
        "Interestingness": 2,
        "Feasibility": 10,
        "Novelty": 1,
    }
    (root / "seed_ideas.json").write_text(json.dumps([idea]))
    (root / "latex" / "template.tex").write_text(TEX)
    return root


def status(report: TemplateReport, name: str) -> str:
    return next(c.status for c in report.checks if c.name == name)


def detail(report: TemplateReport, name: str) -> str:
    return next(c.detail for c in report.checks if c.name == name)
