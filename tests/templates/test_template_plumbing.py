"""The plumbing around a check: runners (custom, sandbox, failing), event loops, section placeholders, the CLI."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from template_support import detail, status
from typer.testing import CliRunner

from sciswarm.cli.template import app
from sciswarm.sandboxes.base import RunResult, RunSpec
from sciswarm.templates import check_template, check_template_async, fill_section, sandbox_runner, section_placeholders


async def test_custom_async_runner_is_used(minimal: Path) -> None:
    calls: list[list[str]] = []

    async def fake_runner(workspace: Path, argv: list[str], timeout_s: float) -> RunResult:
        calls.append(argv)
        if "experiment.py" in argv:
            (workspace / "run_0").mkdir()
            (workspace / "run_0" / "final_info.json").write_text('{"toy": {"means": {"acc": 1}}}')
        else:
            (workspace / "fig.png").write_bytes(b"\x89PNG")
        return RunResult(0, "", "", False, False, 0.1, [])

    report = await check_template_async(minimal, runner=fake_runner)
    assert report.ok, report.errors
    assert (status(report, "sandbox"), detail(report, "sandbox")) == (
        "warn",
        "a caller-supplied runner: isolation unknown",
    )
    assert calls == [["python", "experiment.py", "--out_dir=run_0"], ["python", "plot.py"]]
    assert report.final_info == {"toy": {"acc": 1.0}}
    assert report.figures == ["fig.png"]


async def test_sandbox_runner_builds_the_spec(tmp_path: Path) -> None:
    seen: list[RunSpec] = []

    class FakeSandbox:
        name = "fake"
        isolated = True

        async def run(self, workspace: Path, spec: RunSpec, **_: object) -> RunResult:
            seen.append(spec)
            return RunResult(0, "", "", False, False, 0.0, [])

    runner = sandbox_runner(FakeSandbox(), memory_mb=1234, gpus=1)
    await runner(tmp_path, ["python", "experiment.py", "--out_dir=run_0"], 42.0)
    assert seen[0].argv == ["python", "experiment.py", "--out_dir=run_0"]
    assert (seen[0].timeout_s, seen[0].memory_mb, seen[0].gpus) == (42.0, 1234, 1)


def test_check_template_refuses_to_nest_event_loops(minimal: Path) -> None:
    import asyncio

    async def inner() -> None:
        with pytest.raises(RuntimeError, match="check_template_async"):
            check_template(minimal, run_baseline=False)

    asyncio.run(inner())


def test_fill_section_keeps_markers() -> None:
    tex = textwrap.dedent(
        """\
        \\section{Method}
        %% BEGIN SECTION: Method
        METHOD HERE
        %% END SECTION: Method
        """
    )
    filled = fill_section(tex, "Method", "We do $x^2$.")
    assert section_placeholders(filled) == {"Method": "We do $x^2$.\n"}
    assert section_placeholders(fill_section(filled, "Method", "Again.")) == {"Method": "Again.\n"}
    with pytest.raises(KeyError, match="Results"):
        fill_section(tex, "Results", "x")


def test_cli_check(minimal: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    ok = runner.invoke(app, ["check", str(minimal), "--no-baseline"])
    assert ok.exit_code == 0, ok.output
    assert "template OK" in ok.output
    (minimal / "prompt.json").write_text("{not json")
    bad = runner.invoke(app, ["check", str(minimal), "--no-baseline"])
    assert bad.exit_code == 1
    assert "prompt.json is not valid JSON" in bad.output
    assert "Traceback" not in bad.output
    missing = runner.invoke(app, ["check", str(minimal / "nope"), "--no-baseline"])
    assert missing.exit_code == 1 and "is not a directory" in missing.output


async def test_runner_failure_is_a_failed_check_not_an_exception(minimal: Path) -> None:
    async def broken_runner(workspace: Path, argv: list[str], timeout_s: float) -> RunResult:
        raise ConnectionError("docker engine unreachable")

    report = await check_template_async(minimal, runner=broken_runner)
    assert report.errors == ["baseline run: the runner failed: ConnectionError: docker engine unreachable"]
    inside = await check_template_async(minimal, workspace=minimal / "ws")
    assert any("cannot copy template" in e for e in inside.errors)
