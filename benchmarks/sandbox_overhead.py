"""Overhead of the sandbox providers on a trivial experiment (`python -c 'print(1)'`).

    .venv/bin/python benchmarks/sandbox_overhead.py [--runs 15] [--image sciswarm-exp:latest]

Prints the median wall time of: a bare host subprocess, LocalSandbox, a bare `docker run --rm` (CLI, same
image, network none), and DockerSandbox — and the ratios between them. Needs a Docker engine for the docker
rows (they are skipped otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sciswarm.sandboxes.base import RunSpec
from sciswarm.sandboxes.docker import DockerSandbox
from sciswarm.sandboxes.factory import docker_available
from sciswarm.sandboxes.image import DEFAULT_IMAGE
from sciswarm.sandboxes.local import LocalSandbox

CODE = "print(1)"


async def _median(label: str, runs: int, once: Callable[[], Awaitable[None]]) -> float:
    await once()  # warm-up (page cache, image layers, first client connection)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await once()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    print(f"  {label:<34} median {median * 1000:8.1f} ms  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")
    return median


async def main(runs: int, image: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="sciswarm-bench-"))
    work.chmod(0o755)
    ws = work / "workspace"
    ws.mkdir()
    spec = RunSpec(argv=["python3", "-c", CODE], timeout_s=60)
    print(f"trivial experiment: python3 -c {CODE!r}, {runs} runs each (+1 warm-up)")
    try:
        local = LocalSandbox()
        python = local.interpreter or "python3"  # the interpreter local runs get
        print(f"host interpreter: {python}")

        async def bare() -> None:
            proc = await asyncio.create_subprocess_exec(python, "-c", CODE, stdout=subprocess.PIPE, cwd=ws)
            await proc.communicate()

        async def local_run() -> None:
            assert (await local.run(ws, spec, log_dir=work / "logs")).ok

        t_bare = await _median("bare subprocess", runs, bare)
        t_local = await _median("LocalSandbox", runs, local_run)
        print(f"  -> LocalSandbox / bare subprocess  = {t_local / t_bare:.2f}x")
        if not docker_available():
            print("  docker rows skipped: no Docker engine")
            return
        docker_cli = shutil.which("docker") or "docker"

        async def bare_docker() -> None:
            cmd = [docker_cli, "run", "--rm", "--network", "none", image, "python3", "-c", CODE]
            proc = await asyncio.create_subprocess_exec(*cmd, stdout=subprocess.PIPE)
            await proc.communicate()
            assert proc.returncode == 0

        sandbox = DockerSandbox(image)

        async def docker_run() -> None:
            assert (await sandbox.run(ws, spec, log_dir=work / "logs")).ok

        t_bare_docker = await _median("bare `docker run --rm` (CLI)", runs, bare_docker)
        t_docker = await _median("DockerSandbox", runs, docker_run)
        print(f"  -> DockerSandbox / bare docker run = {t_docker / t_bare_docker:.2f}x")
        print(f"  -> DockerSandbox / bare subprocess = {t_docker / t_bare:.2f}x")
        print(f"  -> bare docker run / subprocess    = {t_bare_docker / t_bare:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.image))
