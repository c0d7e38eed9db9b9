"""SandboxCodeExecutor: AutoGen's CodeExecutor interface over our sandboxes (a role's Lab or a bare Sandbox),
driven directly and by AgentChat's CodeExecutorAgent; the host's timeout kills what runs too long."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import docker
import pytest
from autogen_agentchat.agents import ApprovalRequest, ApprovalResponse, CodeExecutorAgent
from autogen_agentchat.messages import TextMessage
from autogen_core import CancellationToken
from autogen_core.code_executor import CodeBlock, CodeExecutor

from sciswarm.agents.ports import IdeaFolder, Lab, Thread
from sciswarm.events import Message, SandboxExec, Trace
from sciswarm.interop.agentchat import TIMEOUT_EXIT_CODE, SandboxCodeExecutor
from sciswarm.sandboxes.base import RunSpec, Sandbox
from sciswarm.sandboxes.config import SandboxConfig
from sciswarm.sandboxes.docker import DockerSandbox
from sciswarm.sandboxes.local import LocalSandbox
from sciswarm.sandboxes.spec import spec_from_config

SLEEPER = CodeBlock("import time\nprint('going to sleep', flush=True)\ntime.sleep(60)\nprint('woke')", "python")


def approve(request: ApprovalRequest) -> ApprovalResponse:
    return ApprovalResponse(approved=True, reason="sandboxed")


def is_block(container: Any) -> bool:
    return any("tmp_code_" in str(arg) for arg in container.attrs.get("Args") or [])


def lab(sandbox: Sandbox, run_dir: Path, traces: list[Trace], **limits: float) -> Lab:
    """A role's lab as the runner wires it: the swarm's sandbox config gives every run its limits."""
    config = SandboxConfig(provider="local", memory_mb=512, cpus=1, **limits)  # type: ignore[arg-type]

    async def publish(message: Message) -> None:
        raise AssertionError("a lab does not publish")

    thread = Thread(run_id="t", idea_id="alpha", role="coder", publish=publish, record=traces.append)
    return Lab(lambda: sandbox, lambda argv: spec_from_config(config, argv), thread, IdeaFolder(run_dir, "alpha"))


async def test_blocks_run_in_order_and_stop_at_failure(local_sandbox: LocalSandbox, open_dir: Path) -> None:
    executor = SandboxCodeExecutor(local_sandbox, open_dir / "work")
    assert isinstance(executor, CodeExecutor)
    async with executor:
        ok = await executor.execute_code_blocks(
            [
                CodeBlock("# filename: make.py\nopen('data.txt', 'w').write('42')\nprint('made')", "python"),
                CodeBlock("cat data.txt; echo", "sh"),
            ],
            CancellationToken(),
        )
        assert ok.exit_code == 0 and ok.output == "made\n42\n"
        assert ok.code_file is not None and ok.code_file.endswith("sh")
        assert (open_dir / "work" / "make.py").exists() and "data.txt" in ok.files_produced

        failed = await executor.execute_code_blocks(
            [CodeBlock("raise SystemExit(3)", "python"), CodeBlock("print('never')", "python")], CancellationToken()
        )
        assert failed.exit_code == 3 and "never" not in failed.output

        unsupported = await executor.execute_code_blocks([CodeBlock("x", "cobol")], CancellationToken())
        assert unsupported.exit_code == 1 and "unsupported language" in unsupported.output


async def test_timeout_and_escape_of_filename(local_sandbox: LocalSandbox, open_dir: Path) -> None:
    executor = SandboxCodeExecutor(local_sandbox, open_dir, spec=RunSpec(argv=["true"], timeout_s=1))
    slow = await executor.execute_code_blocks([CodeBlock("import time; time.sleep(30)", "python")], CancellationToken())
    assert slow.exit_code == TIMEOUT_EXIT_CODE and slow.timed_out and "Timeout" in slow.output
    with pytest.raises(ValueError, match="outside"):
        await executor.execute_code_blocks(
            [CodeBlock("# filename: ../evil.py\nprint(1)", "python")], CancellationToken()
        )


async def test_code_executor_agent_runs_in_the_lab_and_the_host_kills_past_the_swarm_timeout(
    local_sandbox: LocalSandbox, open_dir: Path
) -> None:
    traces: list[Trace] = []
    executor = SandboxCodeExecutor(lab(local_sandbox, open_dir, traces, timeout_s=2), open_dir / "work")
    assert executor.timeout == 2  # the swarm's, read-only: an agent cannot lengthen it
    with pytest.raises(AttributeError):
        executor.timeout = 600  # type: ignore[misc]
    agent = CodeExecutorAgent("runner", code_executor=executor, approval_func=approve)

    ran = await agent.run(task="Run this:\n```python\nprint(sum(range(10)))\n```")
    reply = ran.messages[-1]
    assert isinstance(reply, TextMessage) and reply.source == "runner" and reply.content.strip() == "45"

    started = time.monotonic()
    slept = await agent.run(task=f"```python\n{SLEEPER.code}\n```")
    elapsed = time.monotonic() - started
    assert elapsed < 2 + 5  # killed by the host at the swarm's 2 s (plus start-up and reaping), not after 60 s
    reply = slept.messages[-1]
    assert isinstance(reply, TextMessage) and "going to sleep" in reply.content and "woke" not in reply.content
    assert "Timeout: killed after 2 s" in reply.content

    execs = [t for t in traces if isinstance(t, SandboxExec)]
    assert [(e.exit_code == 0, e.timed_out) for e in execs] == [(True, False), (False, True)]
    assert all(e.provider == "local" and e.command[0] == "python3" and e.sender == "coder" for e in execs)
    assert (open_dir / "ideas/alpha/logs/agentchat/stdout.log").exists()  # full logs under the idea folder


@pytest.mark.docker
async def test_docker_executor(exp_image: str, docker_engine: docker.DockerClient, open_dir: Path) -> None:
    executor = SandboxCodeExecutor(DockerSandbox(exp_image, client=docker_engine), open_dir)
    result = await executor.execute_code_blocks(
        [CodeBlock("import numpy as np; print(int(np.arange(5).sum()))", "python")], CancellationToken()
    )
    assert result.exit_code == 0 and result.output.strip() == "10"


@pytest.mark.docker
@pytest.mark.timeout(900)  # the first test to use the image may build it
async def test_docker_lab_kills_a_block_past_the_swarm_timeout(
    exp_image: str, docker_engine: docker.DockerClient, open_dir: Path
) -> None:
    traces: list[Trace] = []
    sandbox = DockerSandbox(exp_image, client=docker_engine)
    executor = SandboxCodeExecutor(lab(sandbox, open_dir, traces, timeout_s=3), open_dir / "work")
    started = time.monotonic()
    result = await executor.execute_code_blocks([SLEEPER], CancellationToken())
    assert time.monotonic() - started < 3 + 10  # container killed from the host
    assert result.exit_code == TIMEOUT_EXIT_CODE and result.timed_out and "woke" not in result.output
    (run,) = [t for t in traces if isinstance(t, SandboxExec)]
    assert run.provider == "docker" and run.timed_out
    ours = [c for c in docker_engine.containers.list(all=True, filters={"label": "sciswarm=1"}) if is_block(c)]
    assert ours == []  # removed (other tests' containers may be running meanwhile)
