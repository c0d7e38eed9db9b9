"""GPU slots: hand each run its own GPU(s) from a fixed pool, so concurrent ideas never share one.

Wraps any Sandbox. With `devices=["0", "1"]` and one GPU per run, two experiments run at once,
each with a different device; a third waits for a free slot. Without explicit devices the
pool is `gpus_per_run` anonymous GPUs per run and runs are serialised on it.

BoundedSandbox: at most N runs at once, reporting each change of its slots (a run queued, started, ended)
as a SlotState record, which the live views show.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from sciswarm.events import SlotState
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
            result = await self.inner.run(workspace, self.spec_for(spec, slot), on_output=on_output, log_dir=log_dir)
        finally:
            pool.put_nowait(slot)
        result.gpus, result.gpu_ids = len(slot) or self.per_run, list(slot)  # what the run held (GPU-hour budgets)
        return result


class BoundedSandbox:
    """At most `limit` commands at once through the wrapped sandbox (CPU hosts: cores / cpus per run; GPU
    hosts: the GPU slots). ``on_change`` gets a SlotState whenever a run queues, starts or ends."""

    def __init__(self, inner: Sandbox, limit: int, on_change: Callable[[SlotState], None] | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.isolated = inner.isolated
        self.limit = max(1, limit)
        self.on_change = on_change
        self.busy = 0  # runs holding a slot
        self.queued = 0  # runs waiting for one
        self._sem: asyncio.Semaphore | None = None

    def _report(self, change: Literal["queued", "started", "ended"]) -> None:
        if self.on_change is not None:
            self.on_change(SlotState(change=change, busy=self.busy, limit=self.limit, queued=self.queued))

    async def _acquire(self, sem: asyncio.Semaphore) -> None:
        """A slot for one run: at once when one is free, else after waiting in the queue."""
        if not sem.locked():
            await sem.acquire()  # free: taken without suspending
            return
        self.queued += 1
        self._report("queued")
        try:
            await sem.acquire()
        except BaseException:  # cancelled while waiting: it leaves the queue without having run
            self.queued -= 1
            self._report("ended")
            raise
        self.queued -= 1

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
        await self._acquire(self._sem)
        self.busy += 1
        self._report("started")
        try:
            return await self.inner.run(workspace, spec, on_output=on_output, log_dir=log_dir)
        finally:
            self.busy -= 1
            self._sem.release()
            self._report("ended")
