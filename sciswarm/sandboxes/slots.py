"""GPU slots: hand each run its own GPU(s) from a fixed pool, so concurrent ideas never share one.

Wraps any Sandbox. With `devices=["0", "1"]` and one GPU per run, two experiments run at once,
each with a different device; a third waits for a free slot. Without explicit devices the
pool is `gpus_per_run` anonymous GPUs per run and runs are serialised on it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from sciswarm.sandboxes.base import OutputCallback, RunResult, RunSpec, Sandbox


class GpuSlots:
    def __init__(self, inner: Sandbox, devices: list[str] | None, gpus_per_run: int = 1) -> None:
        self.inner = inner
        self.name = inner.name
        self.isolated = inner.isolated
        self.per_run = max(1, gpus_per_run)
        self.devices = list(devices or [])
        if self.devices and len(self.devices) < self.per_run:
            raise ValueError(f"{self.per_run} GPU(s) per run, but only {len(self.devices)} device(s) configured")
        self._free: asyncio.Queue[list[str]] | None = None

    def _pool(self) -> asyncio.Queue[list[str]]:
        if self._free is None:
            self._free = asyncio.Queue()
            if self.devices:
                for i in range(0, len(self.devices) - self.per_run + 1, self.per_run):
                    self._free.put_nowait(self.devices[i : i + self.per_run])
            else:
                self._free.put_nowait([])
        return self._free

    @property
    def slots(self) -> int:
        return max(1, len(self.devices) // self.per_run) if self.devices else 1

    def spec_for(self, spec: RunSpec, slot: list[str]) -> RunSpec:
        gpus: int | list[str] = slot if slot else self.per_run
        return dataclasses.replace(spec, gpus=gpus)

    async def run(
        self,
        workspace: Path,
        spec: RunSpec,
        *,
        on_output: OutputCallback | None = None,
        log_dir: Path | None = None,
    ) -> RunResult:
        pool = self._pool()
        slot = await pool.get()
        try:
            return await self.inner.run(workspace, self.spec_for(spec, slot), on_output=on_output, log_dir=log_dir)
        finally:
            pool.put_nowait(slot)


class BoundedSandbox:
    """At most `limit` commands at once through the wrapped sandbox (CPU hosts: cores / cpus per run)."""

    def __init__(self, inner: Sandbox, limit: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.isolated = inner.isolated
        self.limit = max(1, limit)
        self._sem: asyncio.Semaphore | None = None

    async def run(
        self,
        workspace: Path,
        spec: RunSpec,
        *,
        on_output: OutputCallback | None = None,
        log_dir: Path | None = None,
    ) -> RunResult:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.limit)
        async with self._sem:
            return await self.inner.run(workspace, spec, on_output=on_output, log_dir=log_dir)
