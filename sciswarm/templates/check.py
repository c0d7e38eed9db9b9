"""check_template: validate a template and run its baseline and plot.py in a copy, into a TemplateReport."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

from sciswarm.sandboxes.base import RunResult
from sciswarm.templates.errors import FinalInfoError, TemplateError
from sciswarm.templates.files import copy_template
from sciswarm.templates.final_info import has_nonfinite, read_final_info
from sciswarm.templates.loading import inspect_template
from sciswarm.templates.report import TemplateReport
from sciswarm.templates.runners import Runner, local_runner


def _describe_failure(what: str, result: RunResult, timeout_s: float) -> str:
    if result.timed_out:
        return f"{what} did not finish within {timeout_s:.0f} s"
    if result.oom_killed:
        return f"{what} ran out of memory"
    if result.error:
        return f"{what} could not run: {result.error}"
    tail = (result.stderr_tail or result.stdout_tail).strip().splitlines()[-15:]
    return f"{what} exited with code {result.exit_code}" + (":\n" + "\n".join(tail) if tail else "")


def _pngs(folder: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime for p in folder.glob("*.png")}


async def _run_baseline(workspace: Path, report: TemplateReport, runner: Runner, python: str, timeout_s: float) -> None:
    result = await runner(workspace, [python, "experiment.py", "--out_dir=run_0"], timeout_s)
    report.baseline_wall_s = result.wall_s
    if not result.ok:
        report.add(
            "baseline run",
            "fail",
            _describe_failure("python experiment.py --out_dir=run_0", result, timeout_s),
        )
        return
    report.add("baseline run", "pass", f"{result.wall_s:.1f} s")
    try:
        report.final_info = read_final_info(workspace / "run_0" / "final_info.json")
    except FinalInfoError as e:
        report.add("final_info.json", "fail", str(e))
        return
    bad = has_nonfinite(report.final_info)
    n_metrics = sum(len(m) for m in report.final_info.values())
    report.add(
        "final_info.json",
        "warn" if bad else "pass",
        f"{len(report.final_info)} dataset(s), {n_metrics} metric(s)"
        + (f"; non-finite: {', '.join(bad)}" if bad else ""),
    )

    before = _pngs(workspace)
    result = await runner(workspace, [python, "plot.py"], timeout_s)
    report.plot_wall_s = result.wall_s
    if not result.ok:
        report.add("plot.py", "fail", _describe_failure("python plot.py", result, timeout_s))
        return
    after = _pngs(workspace)
    report.figures = sorted(name for name, mtime in after.items() if before.get(name) != mtime)
    if report.figures:
        report.add("figures", "pass", ", ".join(report.figures))
    else:
        report.add("figures", "fail", "plot.py ran but wrote no PNG in the working directory")


async def check_template_async(
    path: str | Path,
    *,
    run_baseline: bool = True,
    runner: Runner | None = None,
    python: str = "python",
    timeout_s: float = 900.0,
    workspace: str | Path | None = None,
) -> TemplateReport:
    """Validate a template against the contract; optionally run its baseline and plot.py in a copy.

    The copy goes to ``workspace`` when given (and is kept), else to a temporary folder (removed).
    Never raises for a broken template: every problem is a failed check in the report.
    """
    report = inspect_template(Path(path).resolve())
    if not run_baseline:
        report.add("baseline run", "skip", "--no-baseline")
        return report
    if not (report.path / "experiment.py").is_file():
        report.add("baseline run", "skip", "no experiment.py")
        return report
    run = runner or local_runner
    with contextlib.ExitStack() as stack:
        if workspace is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="sciswarm-template-"))
            os.chmod(tmp, 0o755)  # traversable, for sandboxes that run as another uid
            workspace = Path(tmp) / report.path.name
        try:
            ws = copy_template(report.path, workspace)
        except (TemplateError, OSError) as e:
            report.add("baseline run", "fail", f"could not prepare the workspace: {e}")
            return report
        try:
            await _run_baseline(ws, report, run, python, timeout_s)
        except Exception as e:  # a runner/sandbox failure is reported, not raised
            report.add("baseline run", "fail", f"the runner failed: {type(e).__name__}: {e}")
    return report


def check_template(
    path: str | Path,
    *,
    run_baseline: bool = True,
    runner: Runner | None = None,
    python: str = "python",
    timeout_s: float = 900.0,
    workspace: str | Path | None = None,
) -> TemplateReport:
    """check_template_async, synchronously (for the CLI, tests, scripts; in a loop, await the async one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("check_template() called inside an event loop; await check_template_async() instead")
    return asyncio.run(
        check_template_async(
            path,
            run_baseline=run_baseline,
            runner=runner,
            python=python,
            timeout_s=timeout_s,
            workspace=workspace,
        )
    )
