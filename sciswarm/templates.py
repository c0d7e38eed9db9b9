"""Research templates: loading, checking and copying them.

A template follows The AI Scientist's contract, so existing templates work unmodified. It is a folder with

- ``experiment.py``: run as ``python experiment.py --out_dir=run_i``; writes ``run_i/final_info.json`` as
  ``{dataset: {"means": {metric: number}}}`` (other keys and files are allowed);
- ``plot.py``: run in the folder, reads the ``run_*`` folders and writes PNG figures beside them; the runs'
  legend labels live in a module-level dict named ``labels``;
- ``prompt.json``: ``{"system": ..., "task_description": ...}``;
- ``seed_ideas.json``: a list of ideas (Name, Title, Experiment, Interestingness, Feasibility, Novelty);
- ``latex/template.tex`` with a bibliography: ``\\bibliography{x}`` resolved by ``latex/x.bib`` or by a
  ``filecontents`` block in the .tex, or a ``thebibliography`` environment.

Any other file in the folder is a helper (code, data) and is carried into the workspace.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sciswarm.sandboxes.base import RunResult, RunSpec, Sandbox

REQUIRED_FILES = ("experiment.py", "plot.py", "prompt.json", "seed_ideas.json", "latex/template.tex")
SKIP_DIRS = ("__pycache__", ".git")
SECTION_MARKER = re.compile(
    r"^[ \t]*%+[ \t]*BEGIN SECTION:[ \t]*(?P<name>[^\n]+?)[ \t]*\n(?P<body>.*?)"
    r"^[ \t]*%+[ \t]*END SECTION:[ \t]*(?P=name)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)

Runner = Callable[[Path, list[str], float], Awaitable[RunResult]]
"""Runs argv with cwd=workspace under a timeout (seconds): e.g. through a Sandbox (see sandbox_runner)."""


class TemplateError(ValueError):
    """A template breaks the contract; the message says what and where."""


class FinalInfoError(TemplateError):
    """final_info.json does not have the shape {dataset: {"means": {metric: number}}}."""


# ---------------------------------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------------------------------

Score = Annotated[int, Field(ge=1, le=10, strict=True)]


class IdeaSpec(BaseModel):
    """One research idea, as in The AI Scientist's seed_ideas.json (extra keys are kept)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    Name: str = Field(min_length=1)
    Title: str = Field(min_length=1)
    Experiment: str = Field(min_length=1)
    Interestingness: Score
    Feasibility: Score
    Novelty: Score


class TemplatePrompt(BaseModel):
    model_config = ConfigDict(extra="allow")

    system: str = Field(min_length=1)
    task_description: str = Field(min_length=1)


@dataclass(frozen=True)
class Template:
    name: str
    root: Path
    prompt: TemplatePrompt
    seed_ideas: list[IdeaSpec]
    bibliography: list[Path]  # .bib files beside the .tex; empty when the bibliography is inside the .tex
    extra_files: list[str]  # helpers carried into the workspace, relative to root

    @property
    def experiment(self) -> Path:
        return self.root / "experiment.py"

    @property
    def plot(self) -> Path:
        return self.root / "plot.py"

    @property
    def latex_dir(self) -> Path:
        return self.root / "latex"

    @property
    def latex_template(self) -> Path:
        return self.root / "latex" / "template.tex"


CheckStatus = Literal["pass", "fail", "warn", "skip"]


@dataclass
class Check:
    name: str
    status: CheckStatus
    detail: str = ""


@dataclass
class TemplateReport:
    path: Path
    checks: list[Check] = field(default_factory=list)
    template: Template | None = None
    final_info: dict[str, dict[str, float]] | None = None
    figures: list[str] = field(default_factory=list)
    baseline_wall_s: float | None = None
    plot_wall_s: float | None = None

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    @property
    def errors(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if c.status == "warn"]

    def add(self, name: str, status: CheckStatus, detail: str = "") -> bool:
        self.checks.append(Check(name, status, detail))
        return status != "fail"


# ---------------------------------------------------------------------------------------------------
# Validation of the parts
# ---------------------------------------------------------------------------------------------------


def _pydantic_problems(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(f"{path.name} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TemplateError(f"{path.name} is not valid JSON: {e}") from None


def parse_prompt(data: Any) -> TemplatePrompt:
    if not isinstance(data, dict):
        raise TemplateError(f"prompt.json must be an object with keys system, task_description; got {_kind(data)}")
    try:
        return TemplatePrompt.model_validate(data)
    except ValidationError as e:
        raise TemplateError(f"prompt.json: {_pydantic_problems(e)}") from None


def parse_seed_ideas(data: Any) -> list[IdeaSpec]:
    if not isinstance(data, list):
        raise TemplateError(f"seed_ideas.json must be a list of ideas; got {_kind(data)}")
    ideas, problems = [], []
    for i, item in enumerate(data):
        label = f"idea {i}" + (f" ({item.get('Name')!r})" if isinstance(item, dict) and item.get("Name") else "")
        if not isinstance(item, dict):
            problems.append(f"{label}: must be an object, got {_kind(item)}")
            continue
        try:
            ideas.append(IdeaSpec.model_validate(item))
        except ValidationError as e:
            problems.append(f"{label}: {_pydantic_problems(e)}")
    if problems:
        raise TemplateError("seed_ideas.json: " + " | ".join(problems))
    return ideas


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def validate_final_info(data: Any) -> dict[str, dict[str, float]]:
    """Check final_info.json's shape and return {dataset: {metric: value}} (the "means").

    Other keys beside "means" (e.g. "stderrs") are allowed and ignored. Metric values must be numbers
    (booleans count as 0/1; NaN and infinities are kept, as a diverged run is a result, not an error).
    """
    expected = 'expected {dataset: {"means": {metric: number}}}'
    if not isinstance(data, dict):
        raise FinalInfoError(f"final_info.json: top level must be an object ({expected}), got {_kind(data)}")
    if not data:
        raise FinalInfoError(f"final_info.json is empty ({expected})")
    out: dict[str, dict[str, float]] = {}
    for dataset, entry in data.items():
        if not isinstance(entry, dict) or "means" not in entry:
            got = f"an object with keys {sorted(entry)}" if isinstance(entry, dict) else _kind(entry)
            raise FinalInfoError(
                f"final_info.json: entry {dataset!r} must be an object with a 'means' key ({expected}), got {got}"
            )
        means = entry["means"]
        if not isinstance(means, dict) or not means:
            what = "an empty object" if isinstance(means, dict) else _kind(means)
            raise FinalInfoError(
                f"final_info.json: {dataset!r}.means must be a non-empty object of metric -> number, got {what}"
            )
        metrics: dict[str, float] = {}
        for metric, value in means.items():
            if isinstance(value, bool | int | float):
                metrics[metric] = float(value)
            else:
                raise FinalInfoError(
                    f"final_info.json: {dataset!r}.means.{metric} must be a number, got {_kind(value)} "
                    f"{json.dumps(value)[:60]}"
                )
        out[dataset] = metrics
    return out


def read_final_info(path: Path) -> dict[str, dict[str, float]]:
    """Read and validate a run's final_info.json."""
    if not path.is_file():
        raise FinalInfoError(f"{path.parent.name}/final_info.json was not written")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FinalInfoError(f"{path.parent.name}/final_info.json is not valid JSON: {e}") from None
    return validate_final_info(data)


def has_nonfinite(final_info: dict[str, dict[str, float]]) -> list[str]:
    return [f"{d}.{m}" for d, ms in final_info.items() for m, v in ms.items() if not math.isfinite(v)]


# ---------------------------------------------------------------------------------------------------
# LaTeX
# ---------------------------------------------------------------------------------------------------


def strip_tex_comments(tex: str) -> str:
    return re.sub(r"(?<!\\)%.*", "", tex)


def section_placeholders(tex: str) -> dict[str, str]:
    """The ``%% BEGIN SECTION: X`` ... ``%% END SECTION: X`` blocks of a template: {name: current body}."""
    return {m.group("name"): m.group("body") for m in SECTION_MARKER.finditer(tex)}


def fill_section(tex: str, name: str, body: str) -> str:
    """Replace the body of placeholder block ``name`` (markers are kept, so a section can be refilled)."""
    for m in SECTION_MARKER.finditer(tex):
        if m.group("name") == name:
            text = body if body.endswith("\n") or not body else body + "\n"
            return tex[: m.start("body")] + text + tex[m.end("body") :]
    raise KeyError(f"no placeholder block '% BEGIN SECTION: {name}' in the LaTeX template")


def find_bibliography(latex_dir: Path, tex: str) -> tuple[list[Path], str]:
    """Resolve the template's bibliography. Returns (.bib files beside the .tex, how it was found).

    Raises TemplateError when there is none, or a \\bibliography{x} names a file that is nowhere.
    """
    body = strip_tex_comments(tex)
    embedded = set(re.findall(r"\\begin\{filecontents\*?\}(?:\[[^\]]*\])?\{([^}]+)\}", body))
    embedded |= {name.removesuffix(".bib") for name in embedded}
    names = [n.strip() for group in re.findall(r"\\bibliography\{([^}]*)\}", body) for n in group.split(",")]
    names += re.findall(r"\\addbibresource(?:\[[^\]]*\])?\{([^}]+)\}", body)
    names = [n for n in names if n]
    if not names:
        if "\\begin{thebibliography}" in body:
            return [], "thebibliography environment inside template.tex"
        raise TemplateError(
            "latex/template.tex has no bibliography: add \\bibliography{references} with "
            "latex/references.bib (or a filecontents block), or a thebibliography environment"
        )
    beside: list[Path] = []
    found_inside: list[str] = []
    for name in names:
        stem = name.removesuffix(".bib")
        path = latex_dir / f"{stem}.bib"
        if path.is_file():
            beside.append(path)
        elif stem in embedded:
            found_inside.append(stem)
        else:
            raise TemplateError(
                f"latex/template.tex uses \\bibliography{{{name}}} but latex/{stem}.bib does not exist "
                "and no filecontents block in template.tex defines it"
            )
    how = ", ".join([f"latex/{p.name}" for p in beside] + [f"{n}.bib (filecontents)" for n in found_inside])
    return beside, how


def missing_tex_dependencies(latex_dir: Path, tex: str) -> list[str]:
    """Packages and bibliography styles used by the .tex that are neither beside it nor installed."""
    body = strip_tex_comments(tex)
    wanted = [
        f"{p.strip()}.sty"
        for group in re.findall(r"\\usepackage(?:\[[^\]]*\])?\{([^}]*)\}", body)
        for p in group.split(",")
        if p.strip()
    ]
    wanted += [f"{s.strip()}.bst" for s in re.findall(r"\\bibliographystyle\{([^}]*)\}", body) if s.strip()]
    embedded = set(re.findall(r"\\begin\{filecontents\*?\}(?:\[[^\]]*\])?\{([^}]+)\}", body))
    missing = [f for f in dict.fromkeys(wanted) if not (latex_dir / f).is_file() and f not in embedded]
    kpsewhich = shutil.which("kpsewhich")
    if not missing or kpsewhich is None:
        return []  # without a TeX installation nothing can be said
    try:
        proc = subprocess.run([kpsewhich, *missing], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = {Path(line).name for line in proc.stdout.splitlines() if line.strip()}
    return [f for f in missing if f not in found]


# ---------------------------------------------------------------------------------------------------
# Loading and copying
# ---------------------------------------------------------------------------------------------------


def _is_skipped_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.startswith("run_")


def template_files(root: Path) -> list[str]:
    """Every file of the template, relative to root, without run_* folders and caches."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _is_skipped_dir(d))
        rel = Path(dirpath).relative_to(root)
        files += [(rel / f).as_posix() for f in sorted(filenames) if not f.endswith(".pyc")]
    return files


def _check_structure(root: Path, report: TemplateReport) -> tuple[TemplatePrompt | None, list[IdeaSpec] | None]:
    missing = [f for f in REQUIRED_FILES if not (root / f).is_file()]
    report.add("files", "fail" if missing else "pass", f"missing: {', '.join(missing)}" if missing else "")

    for script in ("experiment.py", "plot.py"):
        path = root / script
        if not path.is_file():
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=script)
        except (SyntaxError, UnicodeDecodeError) as e:
            report.add(script, "fail", f"does not parse: {e}")
            continue
        if script == "experiment.py":
            uses_out_dir = "out_dir" in path.read_text(encoding="utf-8")
            report.add(script, "pass" if uses_out_dir else "warn", "" if uses_out_dir else "no --out_dir option")
        else:
            has_labels = any(
                isinstance(t, ast.Name) and t.id == "labels"
                for node in tree.body
                if isinstance(node, ast.Assign | ast.AnnAssign)
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
            report.add(
                script,
                "pass" if has_labels else "warn",
                "" if has_labels else "no module-level `labels` dict (the coder names runs there)",
            )

    prompt = ideas = None
    if (root / "prompt.json").is_file():
        try:
            prompt = parse_prompt(_read_json(root / "prompt.json"))
            report.add("prompt.json", "pass")
        except TemplateError as e:
            report.add("prompt.json", "fail", str(e))
    if (root / "seed_ideas.json").is_file():
        try:
            ideas = parse_seed_ideas(_read_json(root / "seed_ideas.json"))
            report.add("seed_ideas.json", "pass" if ideas else "warn", f"{len(ideas)} idea(s)")
        except TemplateError as e:
            report.add("seed_ideas.json", "fail", str(e))
    return prompt, ideas


def _check_latex(root: Path, report: TemplateReport) -> list[Path] | None:
    tex_path = root / "latex" / "template.tex"
    if not tex_path.is_file():
        return None
    tex = tex_path.read_text(encoding="utf-8", errors="replace")
    try:
        bibs, how = find_bibliography(tex_path.parent, tex)
        report.add("bibliography", "pass", how)
    except TemplateError as e:
        report.add("bibliography", "fail", str(e))
        bibs = None
    missing = missing_tex_dependencies(tex_path.parent, tex)
    if missing:
        report.add("latex packages", "warn", f"not found beside template.tex nor installed: {', '.join(missing)}")
    blocks = section_placeholders(tex)
    if blocks:
        report.add("placeholders", "pass", f"{len(blocks)} blocks: {', '.join(blocks)}")
    else:
        report.add("placeholders", "warn", "no '%% BEGIN SECTION: X' blocks; the writer falls back to \\section{}")
    return bibs


def _inspect(root: Path) -> TemplateReport:
    report = TemplateReport(path=root)
    if not root.is_dir():
        report.add("folder", "fail", f"{root} is not a directory")
        return report
    prompt, ideas = _check_structure(root, report)
    bibs = _check_latex(root, report)
    if report.ok and prompt is not None and ideas is not None and bibs is not None:
        extras = [f for f in template_files(root) if f not in REQUIRED_FILES and not _is_bib(root, f, bibs)]
        report.template = Template(root.name, root, prompt, ideas, bibs, extras)
    return report


def _is_bib(root: Path, rel: str, bibs: list[Path]) -> bool:
    return any((root / rel).resolve() == b.resolve() for b in bibs)


def load_template(path: str | Path) -> Template:
    """Load a template folder; raises TemplateError listing every contract violation."""
    report = _inspect(Path(path).resolve())
    if report.template is None:
        raise TemplateError(f"invalid template {path}: " + "; ".join(report.errors))
    return report.template


def copy_template(src: str | Path, dst: str | Path) -> Path:
    """Copy a template (all files, helpers included; not run_* folders or caches) into dst."""
    src, dst = Path(src).resolve(), Path(dst).resolve()
    if not src.is_dir():
        raise TemplateError(f"template folder {src} does not exist")
    if dst == src or src in dst.parents:
        raise TemplateError(f"cannot copy template {src} into itself ({dst})")
    dst.mkdir(parents=True, exist_ok=True)
    for rel in template_files(src):
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, target)
    return dst


# ---------------------------------------------------------------------------------------------------
# Running the baseline
# ---------------------------------------------------------------------------------------------------


async def local_runner(workspace: Path, argv: list[str], timeout_s: float) -> RunResult:
    """Run argv in a subprocess of its own process group, killed (whole group) at the timeout.

    ``python`` as argv[0] means this interpreter. Not a sandbox: use sandbox_runner for untrusted code.
    """
    if argv and argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sciswarm-logs-") as logs:
        out_path, err_path = Path(logs) / "stdout", Path(logs) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=workspace, stdout=out, stderr=err, start_new_session=True, env=env
            )
            timed_out = False
            try:
                await asyncio.wait_for(proc.wait(), timeout=timeout_s)
            except TimeoutError:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        return RunResult(
            exit_code=proc.returncode,
            stdout_tail=_tail(out_path),
            stderr_tail=_tail(err_path),
            timed_out=timed_out,
            oom_killed=False,
            wall_s=time.monotonic() - start,
            files_produced=[],
        )


def _tail(path: Path, chars: int = 4000) -> str:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 4 * chars))
        return f.read().decode(errors="replace")[-chars:]


def sandbox_runner(sandbox: Sandbox, **spec: Any) -> Runner:
    """Adapt a Sandbox into a Runner; spec holds further RunSpec fields (memory_mb, gpus, ...)."""

    async def run(workspace: Path, argv: list[str], timeout_s: float) -> RunResult:
        return await sandbox.run(workspace, RunSpec(argv=argv, timeout_s=timeout_s, **spec))

    return run


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
    report = _inspect(Path(path).resolve())
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
