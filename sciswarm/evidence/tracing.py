"""Tracing a stated number to where it came from: a measured result (or a difference or ratio of two), a
constant in the code, the idea or the plan, the bibliography, or the set-up (how many runs, seeds, datasets); or a
search value of the coder's tree search (``tree.json``): the one run of a node picked as the best of many tries,
traced as "selected", not as a measured result (the measured value is the node's re-run with fresh seeds).

A number matches a source when they agree within half a unit of the number's last written digit; a percentage
matches a result written as a fraction (0.125 -> 12.5 %) or a relative change between two runs. When the
sentence names datasets or metrics, only their results are candidates (so a two-digit number does not match
some unrelated result by chance), and results are tried before the code; otherwise the code comes first.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sciswarm.evidence.measurements import Results
from sciswarm.evidence.numbers import NumberMention, find_numbers


@dataclass(frozen=True)
class Source:
    kind: str  # results | selected | derived | code | idea | bibliography | setup
    label: str  # e.g. "run_2 dino kl (mean)", "experiment.py constant", "run_1 vs run_0 dino kl: relative change"
    value: float
    dataset: str = ""
    metric: str = ""
    percent_only: bool = False  # a relative change: matches only a number written with %


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if len(w) >= 2]


def _named(sentence: str, names: list[str]) -> set[str]:
    """The names the sentence mentions, as whole words ("line" is not in "linearly"); a name like
    ``kl_divergence`` counts when all its words are there."""
    low = sentence.lower()

    def has(word: str) -> bool:
        return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", low) is not None

    return {n for n in names if has(n.lower()) or (_words(n) and all(has(w) for w in _words(n)))}


def result_sources(results: Results) -> list[Source]:
    out: list[Source] = []
    for m in results.all:
        where = f"run_{m.run} {m.dataset} {m.metric}"
        out.append(Source("results", f"{where} (mean)", m.mean, m.dataset, m.metric))
        if m.std is not None:
            out.append(Source("results", f"{where} (std)", m.std, m.dataset, m.metric))
        if m.stderr is not None:
            out.append(Source("results", f"{where} (reported stderr)", m.stderr, m.dataset, m.metric))
        if m.n > 1:
            out += [Source("results", f"{where} (seed {i})", v, m.dataset, m.metric) for i, v in enumerate(m.values)]
    for dataset, metric in itertools.product(results.datasets, results.metrics):
        for base, other in itertools.combinations(results.across_runs(dataset, metric), 2):
            pair = f"run_{other.run} vs run_{base.run} {dataset} {metric}"
            out.append(Source("derived", f"{pair}: difference", abs(other.mean - base.mean), dataset, metric))
            for a, b in ((other, base), (base, other)):
                if b.mean:
                    label = f"run_{a.run} vs run_{b.run} {dataset} {metric}"
                    rel = 100.0 * abs(a.mean - b.mean) / abs(b.mean)
                    out.append(Source("derived", f"{label}: relative change", rel, dataset, metric, percent_only=True))
                    out.append(Source("derived", f"{label}: ratio", a.mean / b.mean, dataset, metric))
    return out


def read_tree(idea_dir: Path) -> dict[str, Any] | None:
    """An idea's ``tree.json`` (the tree search's nodes and stages), or None without one."""
    try:
        data = json.loads((idea_dir / "tree.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def selected_sources(tree: dict[str, Any] | None) -> list[Source]:
    """The search values of every tree node (kind "selected"), each stage's re-run value of the objective
    (kind "results": measured with fresh seeds), and the search's counts (kind "setup": nodes tried per stage and
    in all, the re-run's seeds)."""
    if not isinstance(tree, dict):
        return []
    metric = str((tree.get("objective") or {}).get("metric", ""))
    out: list[Source] = []
    for node in tree.get("nodes") or []:
        if not isinstance(node, dict):
            continue
        where = f"tree node {node.get('id')} ({node.get('stage')})"
        for dataset, values in (node.get("results") or {}).items():
            for name, value in values.items() if isinstance(values, dict) else []:
                if _finite(value):
                    label = f"{where} {dataset} {name} (search value)"
                    out.append(Source("selected", label, float(value), dataset, name))
        if _finite(node.get("metric")):
            out.append(Source("selected", f"{where} objective (search value)", float(node["metric"]), "", metric))
    nodes = [n for n in tree.get("nodes") or [] if isinstance(n, dict)]
    if nodes:
        out.append(Source("setup", "tree nodes tried in all", float(len(nodes))))
    for stage in tree.get("stages") or []:
        if not isinstance(stage, dict):
            continue
        if _finite(stage.get("rerun_value")):
            label = f"run_{stage.get('run')} objective (re-run, mean over seeds)"
            out.append(Source("results", label, float(stage["rerun_value"]), "", metric))
        for key, what in (("nodes_tried", "nodes tried"), ("rerun_seeds", "fresh seeds of the re-run")):
            if _finite(stage.get(key)):
                out.append(Source("setup", f"stage {stage.get('name')}: {what}", float(stage[key])))
    return out


def code_sources(files: list[Path]) -> list[Source]:
    """Numeric constants in Python files (hyper-parameters, argparse defaults)."""
    out: list[Source] = []
    for f in files:
        try:
            tree = ast.parse(f.read_text())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                out.append(Source("code", f"{f.name} constant", float(value)))
    return out


def text_sources(kind: str, label: str, text: str) -> list[Source]:
    return [Source(kind, label, n.value) for n in find_numbers(text, include_trivial=True)]


def bib_sources(bib: str) -> list[Source]:
    return [Source("bibliography", "bibliography", float(x)) for x in re.findall(r"(?<![\d.])\d+(?:\.\d+)?", bib)]


_RESULT_KINDS = {"results", "selected", "derived"}


def _agrees(mention: NumberMention, source: Source) -> bool:
    x, tol, v = abs(mention.value), mention.tolerance, abs(source.value)
    if source.percent_only:  # a relative change between two runs, in percent
        return mention.percent and abs(x - v) <= tol
    if mention.percent and abs(x / 100.0 - v) <= tol / 100.0:  # 12.5 % of a result written as 0.125
        return True
    return abs(x - v) <= tol


def trace(mention: NumberMention, sources: list[Source], results: Results) -> Source | None:
    """The source the number agrees with, or None: untraced. A sentence that names a dataset or a metric is
    about results, so they are tried first; otherwise the code, the idea and the set-up are."""
    datasets = _named(mention.sentence, results.datasets)
    metrics = _named(mention.sentence, results.metrics)
    about_results = bool(datasets or metrics)
    # measured results before search values before derived ones (a value both measured and searched is measured)
    rank = {"selected": 1, "derived": 2}
    ordered = sorted(sources, key=lambda s: ((s.kind in _RESULT_KINDS) != about_results, rank.get(s.kind, 0)))
    for source in ordered:
        if source.kind in _RESULT_KINDS:
            if datasets and source.dataset not in datasets:
                continue
            if metrics and source.metric not in metrics:
                continue
        if _agrees(mention, source):
            return source
    return None
