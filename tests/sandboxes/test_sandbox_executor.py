"""SandboxCodeExecutor: AutoGen's CodeExecutor interface over our sandboxes."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest
from autogen_core import CancellationToken
from autogen_core.code_executor import CodeBlock, CodeExecutor

from sciswarm.sandboxes.base import RunSpec
from sciswarm.sandboxes.docker import DockerSandbox
from sciswarm.sandboxes.executor import TIMEOUT_EXIT_CODE, SandboxCodeExecutor
from sciswarm.sandboxes.local import LocalSandbox


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


@pytest.mark.docker
async def test_docker_executor(exp_image: str, docker_engine: docker.DockerClient, open_dir: Path) -> None:
    executor = SandboxCodeExecutor(DockerSandbox(exp_image, client=docker_engine), open_dir)
    result = await executor.execute_code_blocks(
        [CodeBlock("import numpy as np; print(int(np.arange(5).sum()))", "python")], CancellationToken()
    )
    assert result.exit_code == 0 and result.output.strip() == "10"
