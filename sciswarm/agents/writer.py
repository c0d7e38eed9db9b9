"""Writer: fills the template's LaTeX part by part, adds real citations, compiles to PDF, revises.

Once the draft is complete, a model call that fails for good (an ``ExpectedFailure``: the provider after its
retries, JSON re-asks exhausted, a scripted model out of replies) in a later stage (citation rounds, the claims
audit's fixes, check, LaTeX and layout fixes, a revision) ends the model calls for that message, not the
writer: the paper is compiled from the last good text, the appendix names the stage that gave up, why and what
it left unresolved, and the Paper message carries the same line (``gave_up``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sciswarm.agents.base import Role, RoleContext
from sciswarm.agents.citing import check_references, citation_rounds
from sciswarm.agents.layout_fixes import LAYOUT_KINDS, check_line, layout_fixes
from sciswarm.agents.paper_files import PaperFiles
from sciswarm.agents.paper_parts import (
    PARTS,
    for_prompt,
    outline,
    parts_for,
    put,
)
from sciswarm.agents.results import finished_runs
from sciswarm.agents.reverting import revert_until_it_compiles
from sciswarm.errors import ExpectedFailure, PaperBuildError, SetupError, one_line
from sciswarm.events import Draft, Figures, Message, Paper, Revision
from sciswarm.evidence.report import AuditReport, GaveUp, gave_up_appendix, selection_summary
from sciswarm.evidence.tracing import read_tree
from sciswarm.paper.checks import cited_keys

UNFINISHED = "unfinished"  # the appendix of a paper written without the audit whose writer gave up


class WriterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refine: bool = True
    citation_rounds: int = Field(default=20, ge=0, le=50)
    fix_rounds: int = Field(default=3, ge=0, le=10)
    audit: bool = Field(default=True, description="audit the numbers and comparisons against the results")
    audit_rounds: int = Field(default=2, ge=0, le=5, description="writer fix rounds driven by the audit")
    max_notes_chars: int = Field(default=6000, ge=500)
    compile_timeout_s: float = Field(default=120, gt=0)
    layout_tolerance_pt: float = Field(default=10, ge=0, description="overfull boxes / floats up to this: ignored")
    main: str = "template.tex"


class RevisePlan(BaseModel):
    parts: list[str] = Field(default_factory=list)
    plan: str = ""


class Writer(Role[WriterParams]):
    name = "writer"
    description = "Writes the LaTeX paper from notes, results and figures; cites real papers; compiles to PDF."
    subscribes = ("figures", "revision")
    publishes = ("draft", "claims_audit", "paper")
    Params = WriterParams

    # ---- files ------------------------------------------------------------
    def __init__(self, ctx: RoleContext[WriterParams]) -> None:
        super().__init__(ctx)
        self.has_table = False
        self.files = PaperFiles(ctx.folder.paper, self.params.main)
        self.paper_dir = self.files.folder
        self.gave_up: GaveUp | None = None  # this message's stage whose model call failed for good
        self.report: AuditReport | None = None  # this message's claims audit
        self.template_tex = ""  # the template's text as set up (the fallback before any of the model's compiled)

    def _setup(self, figures: Figures) -> None:
        if self.ctx.template is None:
            raise SetupError("the writer needs a research template with latex/template.tex")
        src = self.ctx.template / "latex"
        if not self.paper_dir.exists():
            from sciswarm.paper.bib import unpack_filecontents
            from sciswarm.paper.references import record_template

            shutil.copytree(src, self.paper_dir)
            unpack_filecontents(self.paper_dir, self.params.main)
            record_template(self.paper_dir, self.params.main)  # references.json: the template's entries
            shutil.copy2(self.files.tex, self.files.last_good_tex)  # the template's own text: the first fallback
            self.template_tex = self.files.tex.read_text()
        for name in figures.files:
            f = self.ctx.workspace / name
            if f.exists():
                shutil.copy2(f, self.paper_dir / name)

    def _write_results_table(self) -> bool:
        from sciswarm.paper.results_table import results_table

        table = results_table(self.ctx.workspace, finished_runs(self.ctx.workspace))
        if table is None:
            return False
        (self.paper_dir / "results_table.tex").write_text(table)
        return True

    def _figures_text(self) -> str:
        info = self.paper_dir / "figures.json"
        data: dict[str, str] = json.loads(info.read_text()) if info.exists() else {}
        return "\n".join(f"- {k}: {v}" for k, v in data.items()) or "(none)"

    def _digest(self) -> str:
        idea = self.ctx.folder.idea() or {}
        notes = self.ctx.folder.notes() or "(no notes)"
        if len(notes) > self.params.max_notes_chars:
            notes = notes[: self.params.max_notes_chars] + "\n[... notes truncated]"
        selection = selection_summary(read_tree(self.ctx.folder.path))  # a tree search: both values per stage
        return self.ctx.prompts.render(
            "digest",
            title=idea.get("Title", ""),
            experiment=idea.get("Experiment", ""),
            notes=notes,
            selection="\n".join(f"- {line}" for line in selection),
            figures=self._figures_text(),
            table=(self.paper_dir / "results_table.tex").exists(),
            keys=", ".join(self.files.keys()) or "(none)",
        )

    # ---- the pipeline ---------------------------------------------------
    async def handle(self, message: Message) -> None:
        self.gave_up, self.report = None, None
        if isinstance(message, Figures):
            self._setup(message)
            (self.paper_dir / "figures.json").write_text(json.dumps(message.descriptions, indent=2))
            self.has_table = self._write_results_table()
            await self._write_all(message)
            await self._cite()
            await self._audit(message, revision=0)
            await self._compile_and_publish(message, revision=0)
        elif isinstance(message, Revision):
            await self._revise(message)
            await check_references(self.ctx, self.files)
            await self._audit(message, revision=message.revision)
            await self._compile_and_publish(message, revision=message.revision)

    async def _write_all(self, parent: Message) -> None:
        system = self.ctx.prompts.render("system")
        tips = self.ctx.prompts.data("tips") or {}
        for part in PARTS:
            doc = self.files.doc()
            conv = self.ctx.model.conversation(system)
            prompt = (
                self._digest()
                + "\n\n"
                + self.ctx.prompts.render(
                    "section", part=part, tips=self._tip(part, tips), others=outline(doc, skip=part)
                )
            )
            reply = await conv.say(prompt, stage=f"write/{part}")
            if self.params.refine:
                reply = await conv.say(self.ctx.prompts.render("refine"), stage=f"refine/{part}")
            chars = put(doc, part, reply)
            if not chars:  # e.g. a small model's "TITLE: ..." with no abstract: asked once more
                reply = await conv.say(self.ctx.prompts.render("empty_part", part=part), stage=f"write/{part}/again")
                chars = put(doc, part, reply)
                if not chars:
                    self.ctx.log(f"the model wrote nothing for {part} twice; the part stays empty", "warning")
            if part == "Results" and self.has_table and "results_table" not in doc.text:
                doc.append_to_section("Results", "\\input{results_table}")
            self.files.save(doc)
            await self.ctx.publish(Draft(section=part, chars=chars), parent=parent)

    def _tip(self, part: str, tips: Any) -> str:
        return str(tips.get(part, "")) if isinstance(tips, dict) else ""

    async def _cite(self) -> None:
        if self.ctx.literature is not None and self.params.citation_rounds:
            gave_up = await citation_rounds(self.ctx, self.files, self.params.citation_rounds)
            if gave_up is not None:
                self._give_up(gave_up)
        await check_references(self.ctx, self.files)  # every cite backed by the template or the literature

    async def _audit(self, parent: Message, *, revision: int) -> None:
        if self.params.audit:
            from sciswarm.agents.auditing import ClaimsAuditor

            auditor = ClaimsAuditor(self.ctx, self.files, self._fix_part, rounds=self.params.audit_rounds)
            self.report = await auditor.run(revision=revision, parent=parent, gave_up=self.gave_up)
            if self.gave_up is None and self.report.gave_up is not None:
                self._give_up(self.report.gave_up)

    def _give_up(self, gave_up: GaveUp) -> None:
        self.gave_up = gave_up
        self.ctx.log(
            f"writer gave up at {gave_up.line()}; no more model calls for this paper: it is compiled from the "
            "last good text, the appendix lists what is left",
            "warning",
        )

    def _keep_gave_up(self) -> None:
        """The stage that gave up, in the appendix: the claims audit's, else one of its own (taken out again
        when a later revision finishes its writing)."""
        from sciswarm.agents.auditing import keep, set_appendix

        if self.report is None:
            set_appendix(self.files, UNFINISHED, gave_up_appendix(self.gave_up) if self.gave_up else None)
        elif self.gave_up is not None and self.report.gave_up != self.gave_up:
            self.report.gave_up = self.gave_up
            keep(self.ctx, self.files, self.report)

    async def _fixes(self, targets: dict[str, list[str]], kind: str) -> None:
        """Each part fixed in turn (stage ``kind/part``); a model call that fails for good ends them."""
        for i, (part, problems) in enumerate(targets.items()):
            stage = f"{kind}/{part}"
            try:
                await self._fix_part(part, "\n".join(f"- {p}" for p in problems), stage)
            except ExpectedFailure as exc:
                left = [one_line(f"{p}: {x}", 240) for p, xs in list(targets.items())[i:] for x in xs]
                self._give_up(GaveUp(stage=stage, error=one_line(str(exc)), unresolved=left))
                self._keep_gave_up()
                return

    async def _fix_part(self, part: str, problems: str, stage: str) -> None:
        doc = self.files.doc()
        conv = self.ctx.model.conversation(self.ctx.prompts.render("system"))
        figures = ", ".join(p.name for p in self.paper_dir.glob("*.png")) or "(none)"
        reply = await conv.say(
            self.ctx.prompts.render(
                "fix",
                part=part,
                problems=problems,
                body=for_prompt(doc, part),
                figures=figures,
                keys=", ".join(self.files.keys()) or "(none)",
            ),
            stage=stage,
        )
        put(doc, part, reply)
        self.files.save(doc)

    async def _compile_and_publish(self, parent: Message, *, revision: int) -> None:
        from sciswarm.paper import check_paper, compile_pdf, list_keys, page_count

        result = None
        broken: list[str] = []  # the parts the last failed compile was traced to
        main, rounds = self.params.main, self.params.fix_rounds
        self._keep_gave_up()
        for rnd in range(rounds + 1):
            last = rnd == rounds or self.gave_up is not None  # no fix round left, or no model to do it
            problems = check_paper(self.paper_dir, main)
            if problems and not last:
                targets = parts_for(self.files.doc(), [(p, check_line(p, main)) for p in problems])
                if targets:
                    self.ctx.log(
                        f"paper checks found {len(problems)} problem(s); fixing {', '.join(targets)}",
                        "warning",
                    )
                    await self._fixes(targets, "fix")
                    continue
            result = await compile_pdf(self.paper_dir, main, timeout_s=self.params.compile_timeout_s)
            if result.ok:
                shutil.copy2(self.files.tex, self.files.last_good_tex)  # what a broken layout fix goes back to
                layout = layout_fixes(self.files.doc(), result.errors, main, self.params.layout_tolerance_pt)
                if not layout.by_part or last:
                    break
                self.ctx.log(layout.fixing(), "warning")
                await self._fixes(layout.by_part, "fix_layout")
                continue
            by_part = parts_for(
                self.files.doc(),
                [
                    (str(issue), issue.line)
                    for issue in result.errors
                    # an error inside results_table.tex (code wrote it, not the model) is no part's
                    if (not issue.file or Path(issue.file).name == main) and issue.kind not in LAYOUT_KINDS
                ],
            )
            broken = list(by_part)
            if last:
                break
            if not by_part:
                self.ctx.log(f"LaTeX errors outside the written parts; cannot fix:\n{result.feedback()}", "error")
                break
            self.ctx.log(f"compilation failed; fixing {', '.join(by_part)}", "warning")
            await self._fixes(by_part, "fix_latex")
        reverted: list[str] = []
        if result is not None and not result.ok:
            result, reverted = await revert_until_it_compiles(
                self.files, broken, revision, timeout_s=self.params.compile_timeout_s, log=self.ctx.log
            )
        if set(PARTS) <= set(reverted) and self.files.last_good_tex.read_text() == self.template_tex:
            raise PaperBuildError(
                "none of the written parts compiled: every part went back to the template's text, so the PDF has "
                f"no text of the model's (the rejected draft: paper/rejected_rev{revision}.tex; the compiler's "
                "errors are in the transcript)"
            )
        last_good = self.paper_dir / "last_good.pdf"
        ok = bool(result and result.ok)
        pdf = result.pdf if ok and result and result.pdf else (last_good if last_good.exists() else None)
        if pdf is None:
            raise PaperBuildError(
                f"{result.missing_hint() if result else ''}the paper did not compile, not even with every written "
                "part back at its last compiling version, and there is no earlier PDF: "
                f"{result.feedback(limit=3) if result else ''}"
            )
        if ok and result is not None:
            shutil.copy2(self.files.tex, self.files.last_good_tex)
            layout = layout_fixes(self.files.doc(), result.errors, main, self.params.layout_tolerance_pt)
            for note in layout.remaining(rnd, check_paper(self.paper_dir, main)):  # rnd: the rounds done
                self.ctx.log(note, "warning")
        else:
            self.ctx.log(f"compilation failed; keeping the last good PDF {pdf}", "error")
        final = self.paper_dir / f"paper_rev{revision}.pdf"
        shutil.copy2(pdf, final)
        keys = list_keys(self.files.bib())
        cited = cited_keys(self.files.tex.read_text())
        await self.ctx.publish(
            Paper(
                pdf=str(final.relative_to(self.ctx.run_dir)),
                pages=page_count(final),
                citations=len(cited & set(keys)) if keys else len(cited),
                revision=revision,
                compiled=ok,
                reverted=reverted,
                gave_up=self.gave_up.line() if self.gave_up else "",
            ),
            parent=parent,
        )

    async def _revise(self, revision: Revision) -> None:
        conv = self.ctx.model.conversation(self.ctx.prompts.render("system"))
        stage = "revise/plan"
        try:
            plan = await conv.say_json(
                self.ctx.prompts.render(
                    "revise",
                    revision=revision.revision,
                    review="\n".join(f"- {r}" for r in revision.requests),
                    parts=", ".join(PARTS),
                ),
                RevisePlan,
                stage=stage,
            )
            for part in [p for p in plan.parts if p in PARTS]:
                doc = self.files.doc()
                stage = f"revise/{part}"
                reply = await conv.say(
                    self.ctx.prompts.render("revise_part", part=part, plan=plan.plan, body=for_prompt(doc, part)),
                    stage=stage,
                )
                put(doc, part, reply)
                self.files.save(doc)
        except ExpectedFailure as exc:  # the parts revised so far stay
            requests = [one_line(f"review request: {r}", 240) for r in revision.requests]
            self._give_up(GaveUp(stage=stage, error=one_line(str(exc)), unresolved=requests))
