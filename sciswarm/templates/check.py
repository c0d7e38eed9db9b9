"""check_template: validate a template and run its baseline and plot.py in a copy, into a TemplateReport.

The code runs through the pipeline's sandbox (provider, image and limits from the swarm YAML's ``sandbox``
section, its defaults unless given), so a template is checked under the same conditions it will run in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

from sciswarm.sandboxes.base import ReadOnlyMount, RunResult, Sandbox, SandboxError
from sciswarm.sandboxes.config import SandboxConfig
from sciswarm.sandboxes.needs import Needs, UnmetNeeds
from sciswarm.templates.data import DATA_ENV, DEFAULT_DATA_DIR, DataPrepError, prepare_data
from sciswarm.templates.errors import FinalInfoError, TemplateError
from sciswarm.templates.files import copy_template
from sciswarm.templates.final_info import has_nonfinite, read_final_info
from sciswarm.templates.loading import inspect_template
from sciswarm.templates.needs import template_needs
from sciswarm.templates.report import TemplateReport
from sciswarm.templates.runners import Runner, describe_sandbox, pipeline_runner


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


async def _prepared_data(report: TemplateReport, data_dir: Path) -> tuple[ReadOnlyMount, ...] | None:
    """The data step's read-only mount (() without data scripts); None, with a failed check, if it failed."""
    try:
        prepared = await asyncio.to_thread(prepare_data, report.path, data_dir)
    except DataPrepError as e:
        report.add("data step", "fail", str(e))
        return None
    if prepared is None:
        return ()
    how = f"prepared in {prepared.wall_s:.1f} s" if prepared.fresh else "reused"
    report.add("data step", "pass", f"{how}: {prepared.path} (read-only at ${DATA_ENV}; /data in docker)")
    return (prepared.mount(),)


def _needs(report: TemplateReport, limits: SandboxConfig) -> Needs | None:
    """The "python needs" row: what the template's code needs beyond the standard library (static)."""
    try:
        needs = template_needs(report.path, limits)
    except UnmetNeeds as e:
        report.add("python needs", "fail", str(e))
        return None
    notes = f"; {'; '.join(needs.notes)}" if needs.notes else ""
    report.add("python needs", "pass", needs.describe() + notes)
    return needs


async def _sandboxed_runner(
    report: TemplateReport,
    sandbox: Sandbox | None,
    limits: SandboxConfig,
    log_dir: Path,
    mounts: tuple[ReadOnlyMount, ...],
    needs: Needs,
) -> Runner | None:
    """A runner through `sandbox` (made from `limits` and `needs` when None: docker in an image with the
    template's Python needs), with the pipeline's limits; None if no sandbox."""
    if sandbox is None:
        from sciswarm.sandboxes.factory import make_sandbox

        try:  # in a thread: it pings the engine and may build the image (or one with the template's needs)
            sandbox = await asyncio.to_thread(make_sandbox, limits.provider, image=limits.image, needs=needs)
        except UnmetNeeds as e:
            report.add("python needs", "fail", str(e))
            return None
        except SandboxError as e:
            report.add("sandbox", "fail", f"no {limits.provider} sandbox to run the template in: {e}")
            return None
    report.add("sandbox", *describe_sandbox(sandbox))
    return pipeline_runner(sandbox, limits, log_dir=log_dir, mounts=mounts)


async def check_template_async(
    path: str | Path,
    *,
    run_baseline: bool = True,
    runner: Runner | None = None,
    sandbox: Sandbox | None = None,
    limits: SandboxConfig | None = None,
    python: str = "python",
    timeout_s: float | None = None,
    workspace: str | Path | None = None,
    data_dir: str | Path = DEFAULT_DATA_DIR,
) -> TemplateReport:
    """Validate a template against the contract; optionally run its baseline and plot.py in a copy.

    The code runs through ``sandbox`` (default: ``make_sandbox(limits.provider, image=limits.image, needs=...)``,
    given the template's Python needs: its requirements.txt, else its imports; templates/needs.py) with the
    limits of ``limits`` (default: the pipeline's defaults, ``SandboxConfig()``) and the sandbox's scrubbed
    environment; ``timeout_s`` defaults to ``limits.timeout_s``. A ``runner`` replaces all that (tests).
    The copy goes to ``workspace`` when given (and is kept), else to a temporary folder (removed). A template
    with data scripts (``data/<name>/prepare.py``) first gets its data step, cached under ``data_dir`` (the
    runs' default, so a check and a later run share it), mounted read-only into the runs.
    Never raises for a broken template: every problem is a failed check in the report.
    """
    report = inspect_template(Path(path).resolve())
    limits = limits or SandboxConfig()
    needs = _needs(report, limits) if report.path.is_dir() else None
    if not run_baseline:
        report.add("baseline run", "skip", "--no-baseline")
        return report
    if not (report.path / "experiment.py").is_file():
        report.add("baseline run", "skip", "no experiment.py")
        return report
    if needs is None:
        report.add("baseline run", "skip", "the template's Python needs cannot be met")
        return report
    timeout = limits.timeout_s if timeout_s is None else timeout_s
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
        mounts = await _prepared_data(report, Path(data_dir))
        if mounts is None:
            return report
        if runner is None:
            logs = stack.enter_context(tempfile.TemporaryDirectory(prefix="sciswarm-template-logs-"))
            runner = await _sandboxed_runner(report, sandbox, limits, Path(logs), mounts, needs)
            if runner is None:
                return report
        else:
            report.add("sandbox", "warn", "a caller-supplied runner: isolation unknown")
        try:
            await _run_baseline(ws, report, runner, python, timeout)
        except Exception as e:  # a runner/sandbox failure is reported, not raised
            report.add("baseline run", "fail", f"the runner failed: {type(e).__name__}: {e}")
    return report


def check_template(
    path: str | Path,
    *,
    run_baseline: bool = True,
    runner: Runner | None = None,
    sandbox: Sandbox | None = None,
    limits: SandboxConfig | None = None,
    python: str = "python",
    timeout_s: float | None = None,
    workspace: str | Path | None = None,
    data_dir: str | Path = DEFAULT_DATA_DIR,
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
            sandbox=sandbox,
            limits=limits,
            python=python,
            timeout_s=timeout_s,
            workspace=workspace,
            data_dir=data_dir,
        )
    )
