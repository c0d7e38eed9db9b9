"""The writer's claims audit: every number in the text traced to a source, every comparison read out by the
model and checked by code against the runs' measurements; what fails goes back to the writer part by part
(bounded rounds); what is left is kept in ``claims.json``, in the paper's "Claims audit" appendix, and in a
``claims_audit`` message the reviewers read. A fix whose model call fails for good ends the rounds: the text
stays as the fixes left it, its numbers are traced again by code (the comparisons are the last ones checked),
and the appendix names the stage that gave up."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from sciswarm.agents.base import RoleContext
from sciswarm.agents.paper_files import PaperFiles
from sciswarm.agents.paper_parts import PARTS, text_of
from sciswarm.agents.results import finished_runs
from sciswarm.errors import ExpectedFailure, one_line
from sciswarm.events import ClaimsAudit, Message
from sciswarm.evidence import (
    AuditReport,
    CheckedClaim,
    ClaimList,
    Results,
    TracedNumber,
    appendix,
    find_numbers,
    verify,
)
from sciswarm.evidence.report import GaveUp, selection_summary
from sciswarm.evidence.tracing import (
    Source,
    bib_sources,
    code_sources,
    read_tree,
    result_sources,
    selected_sources,
    text_sources,
    trace,
)
from sciswarm.paper.references import reference_report

FixPart = Callable[[str, str, str], Awaitable[None]]  # (part, problems, stage)
NOT_AUDITED = ("Related Work",)  # statements about cited work, not about the runs
NO_CLAIMS = ("Related Work", "Background")
APPENDIX = "claims_audit"


class ClaimsAuditor:
    def __init__(self, ctx: RoleContext[Any], files: PaperFiles, fix: FixPart, *, rounds: int) -> None:
        self.ctx, self.files, self.fix, self.rounds = ctx, files, fix, rounds

    async def run(self, *, revision: int, parent: Message, gave_up: GaveUp | None = None) -> AuditReport:
        """``gave_up``: an earlier writer stage's model call failed for good; then the audit asks no model (its
        numbers are traced by code, no comparisons are read out, no fix rounds). A fix that fails for good sets
        the returned report's ``gave_up``."""
        report = await self.audit(revision, claims=None if gave_up is None else [])
        if gave_up is not None:
            report.extraction_error = f"not attempted: the writer gave up earlier, at {gave_up.stage}"
        found = _issues(report)
        for rnd in range(1, self.rounds + 1):
            targets = {p: v for p, v in report.problems_by_part().items() if p in PARTS}
            if not targets or gave_up is not None:
                break
            self.ctx.log(
                f"claims audit: {len(report.untraced)} untraced number(s), {len(report.problems)} comparison "
                f"problem(s); fixing {', '.join(targets)} (round {rnd}/{self.rounds})",
                "warning",
            )
            measured = self._measured()
            for part, problems in targets.items():
                listing = "\n".join(f"- claims audit: {p}" for p in problems)
                try:
                    await self.fix(
                        part, f"{listing}\n- the measured results (mean over seeds): {measured}", f"audit_fix/{part}"
                    )
                except ExpectedFailure as exc:  # the model call failed for good: keep what the fixes left
                    where = f"audit_fix/{part} (fix round {rnd} of {self.rounds})"
                    gave_up = GaveUp(stage=where, error=one_line(str(exc)))
                    break
            before = report
            report = await self.audit(revision, claims=None if gave_up is None else before.claims)
            report.rounds = rnd
            if gave_up is not None:  # the comparisons are those checked before the stage gave up
                report.extraction_error = before.extraction_error
            found += [i for i in _issues(report) if i not in found]
        report.gave_up = gave_up
        left = _issues(report)
        report.fixed = [i for i in found if i not in left]
        keep(self.ctx, self.files, report)
        await self.ctx.publish(
            ClaimsAudit(
                revision=revision, rounds=report.rounds, counts=report.counts(), remaining=self._remaining(report)
            ),
            parent=parent,
        )
        return report

    def _results(self) -> Results:
        ws = self.ctx.workspace
        return Results.from_workspace(ws, finished_runs(ws))

    def _measured(self) -> str:
        out: dict[str, dict[str, dict[str, float]]] = {}
        for m in self._results().all:
            out.setdefault(f"run_{m.run}", {}).setdefault(m.dataset, {})[m.metric] = float(f"{m.mean:.4g}")
        return json.dumps(out)

    def _sources(self, results: Results) -> list[Source]:
        ws, folder = self.ctx.workspace, self.ctx.folder
        code = [ws / "experiment.py", ws / "plot.py"]
        if self.ctx.template is not None:
            code.append(self.ctx.template / "experiment.py")
        setup = [len(results.runs), len(results.runs) - 1, results.seeds, len(results.datasets), len(results.metrics)]
        sources = result_sources(results) + selected_sources(read_tree(folder.path))  # tree search values
        sources += code_sources([f for f in code if f.exists()])
        sources += text_sources("idea", "the idea", json.dumps(folder.idea() or {}))
        sources += text_sources("idea", "the plan", "\n".join(folder.plan()))
        sources += [Source("setup", "number of runs, seeds, datasets or metrics", float(n)) for n in setup]
        bib = self.files.bib()
        return sources + (bib_sources(bib.read_text(errors="replace")) if bib.exists() else [])

    async def audit(self, revision: int, *, claims: list[CheckedClaim] | None = None) -> AuditReport:
        """Every number traced by code; the comparisons read out by the model and checked, or ``claims`` kept
        as they are (no model call)."""
        doc = self.files.doc()
        results = self._results()
        sources = self._sources(results)
        report = AuditReport(revision=revision, seeds=max(results.seeds, 1))
        texts = {part: text_of(doc, part) for part in PARTS if part not in NOT_AUDITED}
        for part, text in texts.items():
            for n in find_numbers(text):
                src = trace(n, sources, results)
                report.numbers.append(
                    TracedNumber(
                        text=n.text,
                        part=part,
                        sentence=n.sentence,
                        source=src.label if src else None,
                        kind=src.kind if src else None,
                    )
                )
        refs = reference_report(self.files.folder)
        report.references = refs.counts() if refs is not None else {}
        report.flags = [f"{run}: {flag}" for run, flags in self.ctx.folder.run_flags().items() for flag in flags]
        report.selection = selection_summary(read_tree(self.ctx.folder.path))
        claimed = {p: t for p, t in texts.items() if p not in NO_CLAIMS and t.strip()}
        if claims is not None:
            report.claims = claims
        elif results.all and claimed:
            try:
                found = await self._extract(claimed, results)
                report.claims = [verify(c, results) for c in found.claims]
            except ExpectedFailure as exc:  # unusable replies, or the model call failed for good: recorded
                report.extraction_error = str(exc)
                self.ctx.log(f"claims audit: the comparisons could not be extracted: {exc}", "warning")
        return report

    async def _extract(self, texts: dict[str, str], results: Results) -> ClaimList:
        plan = self.ctx.folder.plan()
        runs = "\n".join(
            f"- run_{r}: "
            + ("the baseline (the unmodified template)" if r == 0 else (plan[r - 1] if r <= len(plan) else "?"))
            for r in results.runs
        )
        text = "\n\n".join(f"[{part}]\n{body}" for part, body in texts.items())
        conv = self.ctx.model.conversation(self.ctx.prompts.render("system"))
        return await conv.say_json(
            self.ctx.prompts.render(
                "audit_extract",
                runs=runs,
                datasets=", ".join(results.datasets),
                metrics=", ".join(results.metrics),
                text=text,
            ),
            ClaimList,
            stage="audit/extract",
        )

    def _remaining(self, report: AuditReport) -> list[str]:
        items = [f"writer gave up at {report.gave_up.line()}"] if report.gave_up else []
        items += [f"untraced number {n.text} ({n.part})" for n in report.untraced]
        items += [f"{c.verdict}: {c.claim.quote[:120]}" for c in report.problems]
        return items + report.flags


def keep(ctx: RoleContext[Any], files: PaperFiles, report: AuditReport) -> None:
    """The report as ``claims.json`` and as the paper's appendix."""
    ctx.folder.write_claims({**report.model_dump(), "counts": report.counts()})
    set_appendix(files, APPENDIX, appendix(report))


def set_appendix(files: PaperFiles, name: str, latex: str | None) -> None:
    """An appendix of code-written LaTeX in ``<name>.tex``, input at the end of the paper; None: taken out."""
    tex = files.tex.read_text()
    line = f"\\clearpage\n\\appendix\n\\input{{{name}}}\n"
    if latex is None:
        if line in tex:
            files.tex.write_text(tex.replace(line, ""))
        return
    (files.folder / f"{name}.tex").write_text(latex)
    if f"\\input{{{name}}}" not in tex and "\\end{document}" in tex:
        at = tex.rindex("\\end{document}")
        files.tex.write_text(tex[:at] + line + tex[at:])


def _issues(report: AuditReport) -> list[str]:
    """One line per problem, for the "caught and fixed" list."""
    items = [f'untraced number {n.text} ({n.part}): "{n.sentence[:140]}"' for n in report.untraced]
    items += [f'{c.verdict.replace("_", " ")}: "{c.claim.quote[:140]}" ({c.evidence[:200]})' for c in report.problems]
    return items
