"""The claims audit of one paper revision: what was traced and verified, what is left, as data (claims.json)
and as the paper's "Claims audit" appendix; and when a writer stage's model call failed for good (``GaveUp``),
which stage, why, and what it left unresolved (in the claims audit's appendix, or one of its own)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

from sciswarm.evidence.claims import CheckedClaim

PROBLEM_VERDICTS = ("contradicted", "not_significant", "unresolved")
PLUS_MINUS = r"~$\pm$~"  # a value and its spread stay on one line


class TracedNumber(BaseModel):
    text: str
    part: str
    sentence: str
    source: str | None = Field(default=None, description="kind: label of the source; None when untraced")
    kind: str | None = None


class GaveUp(BaseModel):
    """A writer stage whose model call failed for good after a draft existed: the paper keeps the last good text."""

    stage: str  # e.g. "audit_fix/Results (fix round 2 of 2)"
    error: str  # one line
    unresolved: list[str] = Field(default_factory=list)  # what the stage was to fix (beside the audit's own list)

    def line(self) -> str:
        return f"{self.stage}: {self.error}"


class AuditReport(BaseModel):
    revision: int = 0
    rounds: int = 0  # fix rounds the writer went through
    seeds: int = 1
    numbers: list[TracedNumber] = Field(default_factory=list)
    claims: list[CheckedClaim] = Field(default_factory=list)
    references: dict[str, int] = Field(default_factory=dict)  # counts from the reference check
    flags: list[str] = Field(default_factory=list)  # stage contracts: unchanged code, NaN metrics, seeds ignored
    extraction_error: str = ""
    fixed: list[str] = Field(default_factory=list)  # problems of earlier rounds that the writer's fixes removed
    selection: list[str] = Field(default_factory=list)  # the tree search's stages: search vs re-run values
    gave_up: GaveUp | None = None  # a writer stage gave up: the fix rounds stopped there

    @property
    def untraced(self) -> list[TracedNumber]:
        return [n for n in self.numbers if n.source is None]

    @property
    def problems(self) -> list[CheckedClaim]:
        return [c for c in self.claims if c.verdict in PROBLEM_VERDICTS]

    def counts(self) -> dict[str, int]:
        verdicts = Counter(c.verdict for c in self.claims)
        kinds = Counter(n.kind for n in self.numbers if n.kind)
        return {
            "numbers": len(self.numbers),
            "numbers_traced": len(self.numbers) - len(self.untraced),
            "numbers_untraced": len(self.untraced),
            **{f"numbers_from_{k}": v for k, v in sorted(kinds.items())},
            "comparisons": len(self.claims),
            **{
                f"comparisons_{v}": verdicts.get(v, 0)
                for v in ("supported", "untested", "contradicted", "not_significant", "unresolved")
            },
        }

    def problems_by_part(self) -> dict[str, list[str]]:
        """What the writer is asked to fix, per part, with the evidence."""
        out: dict[str, list[str]] = {}
        for n in self.untraced:
            out.setdefault(n.part, []).append(
                f'the number {n.text} (in "{n.sentence[:200]}") matches no result, code constant, plan or '
                "reference: replace it with the measured value or remove it"
            )
        for c in self.problems:
            what = {
                "contradicted": "is contradicted by the results",
                "not_significant": "claims a difference that is not significant",
                "unresolved": "could not be checked against the results",
            }[c.verdict]
            fix = {
                "contradicted": "correct the statement to what the results show",
                "not_significant": "say there is no significant difference (or report it as a trend, untested)",
                "unresolved": "name the runs, the metric and the dataset exactly as in the results, or drop it",
            }[c.verdict]
            out.setdefault(c.claim.part or "Results", []).append(
                f'"{c.claim.quote[:200]}" {what} ({c.evidence}); {fix}'
            )
        return out


def _value(value: Any, std: Any = None) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:.4g}" + (f" +/- {std:.2g}" if isinstance(std, int | float) else "")


def selection_summary(tree: dict[str, Any] | None) -> list[str]:
    """One line per stage of the coder's tree search (tree.json): the best node, how many nodes it was selected
    from, its search value (optimistic: the best of many tries) and its re-run value with fresh seeds; and why
    the search stopped early, when a budget stopped it."""
    if not isinstance(tree, dict):
        return []
    metric = str((tree.get("objective") or {}).get("metric", "")) or "results"
    lines = []
    for st in tree.get("stages") or []:
        if not isinstance(st, dict) or not st.get("best"):
            continue
        seeds = st.get("rerun_seeds")
        value = _value(st.get("rerun_value"), st.get("rerun_std"))
        rerun = f"re-run with {seeds} fresh seed{'' if seeds == 1 else 's'}: {value}"
        if st.get("rerun_error"):
            rerun = f"the re-run failed ({str(st.get('rerun_error'))[:120]})"
        lines.append(
            f"Stage {st.get('name')} (run_{st.get('run')}): node {st.get('best')}, selected from "
            f"{st.get('nodes_tried')} nodes by the {st.get('chosen_by')}; search value of {metric} "
            f"{_value(st.get('search_value'))} (optimistic); {rerun}."
        )
    if lines and tree.get("stopped"):
        lines.append(f"The search stopped before its node budgets: {str(tree['stopped'])[:300]}.")
    return lines


def _tex(text: str) -> str:
    repl = {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
    }
    return "".join(repl.get(ch, ch) for ch in text)


def _quotes(text: str) -> str:
    return re.sub(r'"([^"]*)"', r"``\1''", text)


TRACED_TO = {  # how the appendix says where numbers came from (tracing.Source kinds)
    "results": "from results",
    "derived": "derived from results",
    "selected": "search values",
    "code": "from the code",
    "idea": "from the idea or plan",
    "bibliography": "from the bibliography",
    "setup": "from the set-up",
}


def _traced_to(kind: str, count: int) -> str:
    words = TRACED_TO.get(kind, f"from {kind}")
    return f"{count} {words[:-1] if count == 1 and words == 'search values' else words}"


def appendix(report: AuditReport) -> str:
    """LaTeX of the appendix (code-written: every count comes from the report)."""
    c = report.counts()
    seeds = (
        f"Every run was repeated with {report.seeds} seeds; differences count as significant at $p<0.05$ "
        "(Welch's $t$-test)."
        if report.seeds > 1
        else "Each run was done once (one seed), so no difference could be tested for significance."
    )
    kinds = ", ".join(
        _traced_to(k.removeprefix("numbers_from_"), v) for k, v in c.items() if k.startswith("numbers_from_")
    )
    lines = [
        r"\section*{Claims audit}",
        r"\addcontentsline{toc}{section}{Claims audit}",
        "This appendix was written by sciswarm's claims audit, not by the authoring model. Every number in the "
        "text was traced to the run results, the code, the plan or the bibliography, and every comparison "
        f"was checked by code against the results. {seeds}",
        r"\begin{itemize}",
        rf"\item Numbers: {c['numbers']} stated, {c['numbers_traced']} traced"
        + (f" ({kinds})" if kinds else "")
        + f", {c['numbers_untraced']} untraced.",
        rf"\item Comparisons: {c['comparisons']} checked: {c['comparisons_supported']} supported, "
        f"{c['comparisons_untested']} right in direction but untested, {c['comparisons_contradicted']} "
        f"contradicted, {c['comparisons_not_significant']} not significant, {c['comparisons_unresolved']} "
        "unresolved.",
    ]
    if report.references:
        r = report.references
        lines.append(
            rf"\item References: {r.get('cited', 0)} cited, {r.get('literature', 0)} from literature records, "
            f"{r.get('template', 0)} from the template's bibliography; invented entries replaced: "
            f"{r.get('replaced', 0)}, removed: {r.get('removed', 0)}."
        )
    lines.append(rf"\item Fix rounds with the writer: {report.rounds}.")
    lines.append(r"\end{itemize}")
    if report.selection:
        lines += [
            r"\paragraph{Selection.} Beside the baseline, the runs are the best nodes of an experiment tree search. "
            "A search value is one run of the node picked as the best of many tries, so it is optimistic; the "
            "measured value is its re-run with fresh seeds. Numbers that trace to a search value are counted as "
            "selected, not as measured.",
            r"\begin{itemize}",
        ]
        lines += ["\\item " + _tex(item).replace(" +/- ", PLUS_MINUS) for item in report.selection]
        lines.append(r"\end{itemize}")
    if report.claims:
        lines += [r"\paragraph{Comparisons.}", r"\begin{itemize}"]
        for checked in report.claims:
            verdict, claim = checked.verdict.replace("_", " "), checked.claim
            lines.append(rf"\item ``{_tex(claim.quote[:140])}'' ({_tex(claim.part)}): \emph{{{verdict}}}.")
        lines.append(r"\end{itemize}")
    if report.fixed:
        lines += [r"\paragraph{Caught and fixed while writing.}", r"\begin{itemize}"]
        lines += [rf"\item {_quotes(_tex(item))}" for item in report.fixed]
        lines.append(r"\end{itemize}")
    remaining = [f"Untraced number {n.text}: ``{n.sentence[:160]}''" for n in report.untraced]
    remaining += [
        f"{p.verdict.replace('_', ' ')}: ``{p.claim.quote[:160]}'' ({p.evidence[:240]})" for p in report.problems
    ]
    remaining += report.flags
    if report.extraction_error:
        remaining.append(f"The comparisons could not be extracted: {report.extraction_error[:200]}")
    if report.gave_up is not None:
        remaining = [_gave_up_sentence(report.gave_up), *remaining, *report.gave_up.unresolved]
    if remaining:
        lines += [r"\paragraph{Remaining issues.}", r"\begin{itemize}"]
        lines += [rf"\item {_tex(item)}" for item in remaining]
        lines.append(r"\end{itemize}")
    else:
        lines.append(r"\paragraph{Remaining issues.} None.")
    return "\n".join(lines) + "\n"


def _gave_up_sentence(gave_up: GaveUp) -> str:
    return (
        f"The writer gave up at {gave_up.stage}: a model call failed for good ({gave_up.error[:240]}). The paper "
        "is the last text the writer had; what is left unresolved is listed here."
    )


def gave_up_appendix(gave_up: GaveUp) -> str:
    """LaTeX of the appendix of a paper written without the claims audit whose writer gave up at a stage."""
    items = [_gave_up_sentence(gave_up), *gave_up.unresolved]
    lines = [
        r"\section*{Unfinished writing}",
        r"\addcontentsline{toc}{section}{Unfinished writing}",
        "This appendix was written by sciswarm, not by the authoring model.",
        r"\begin{itemize}",
        *[rf"\item {_tex(item)}" for item in items],
        r"\end{itemize}",
    ]
    return "\n".join(lines) + "\n"


def summary_for_reviewers(report: AuditReport) -> str:
    c = report.counts()
    parts = [
        f"{c['numbers_traced']} of {c['numbers']} numbers traced to the results, code, plan or bibliography",
        f"{c['comparisons']} comparisons checked by code: {c['comparisons_supported']} supported, "
        f"{c['comparisons_untested']} untested (single runs), {c['comparisons_contradicted']} contradicted, "
        f"{c['comparisons_not_significant']} not significant, {c['comparisons_unresolved']} unresolved",
        f"seeds per run: {report.seeds}",
    ]
    if c.get("numbers_from_selected"):
        parts.append(
            f"{c['numbers_from_selected']} number(s) are tree-search values (the best of many tries, optimistic), "
            "not the re-run measurements"
        )
    parts += report.selection
    issues = [f"untraced number {n.text} in: {n.sentence[:160]}" for n in report.untraced]
    issues += [f"{p.verdict}: {p.claim.quote[:160]} -- {p.evidence[:200]}" for p in report.problems]
    issues += report.flags
    if report.gave_up is not None:
        issues.insert(0, f"the writer gave up at {report.gave_up.line()} (the paper is its last good text)")
    text = "; ".join(parts) + "."
    if issues:
        text += " Remaining issues:\n" + "\n".join(f"- {i}" for i in issues)
    else:
        text += " No remaining issues."
    return text
