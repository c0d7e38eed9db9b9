"""When the writer's fix rounds end with a paper that does not compile: put parts back at their last compiling
version, the ones the errors were traced to first, until it compiles; the rest of the writing stays."""

from __future__ import annotations

from collections.abc import Callable

from sciswarm.agents.paper_files import PaperFiles
from sciswarm.agents.paper_parts import PARTS, restore, text_of
from sciswarm.paper.latex import CompileResult
from sciswarm.paper.sections import TexDocument


async def revert_until_it_compiles(
    files: PaperFiles, broken: list[str], revision: int, *, timeout_s: float, log: Callable[[str, str], None]
) -> tuple[CompileResult, list[str]]:
    """The text that did not compile is kept beside the paper (``rejected_rev<n>.tex``). Returns the last
    compile and the parts reverted ([] if in vain: then the writing is left as it was)."""
    from sciswarm.paper import compile_pdf

    rejected = files.tex.read_text()
    (files.folder / f"rejected_rev{revision}.tex").write_text(rejected)
    good = TexDocument(files.last_good_tex.read_text())
    reverted: list[str] = []
    result: CompileResult | None = None
    for part in [*broken, *(p for p in PARTS if p not in broken)]:
        doc = files.doc()
        if text_of(doc, part) == text_of(good, part):
            continue
        restore(doc, part, good)
        files.save(doc)
        reverted.append(part)
        result = await compile_pdf(files.folder, files.main, timeout_s=timeout_s)
        if result.ok:
            log(
                f"the paper compiles with {', '.join(reverted)} back at the last compiling version "
                "(the newer text did not compile within the fix rounds)",
                "warning",
            )
            return result, reverted
    files.tex.write_text(rejected)  # the parts were not the cause: keep the writing as it was
    if result is None:  # nothing differs from the last compiling version: its failure is elsewhere
        result = await compile_pdf(files.folder, files.main, timeout_s=timeout_s)
    return result, []
