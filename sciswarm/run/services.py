"""Shared services a run hands to its roles: template, sandbox, run specs, literature search.

Heavy pieces (docker, the literature client) are created on first use, once per run.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sciswarm.run.config import SwarmConfig
from sciswarm.sandboxes.base import RunSpec, Sandbox
from sciswarm.sandboxes.spec import spec_from_config

LogFn = Callable[..., None]


class Services:
    def __init__(self, cfg: SwarmConfig, run_dir: Path, *, log: LogFn) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self._log = log
        self.template: Path | None = cfg.path(cfg.template) if cfg.template else None
        self._sandbox: Sandbox | None = None
        self._sandbox_lock = threading.Lock()
        self._literature: Any = None
        self._literature_ready = False

    def prompt_dirs(self) -> list[Path]:
        """User prompt overrides: a `prompts/` folder beside the swarm YAML, if any."""
        folder = Path(self.cfg.base_dir) / "prompts"
        return [folder] if folder.is_dir() else []

    def sandbox(self) -> Sandbox:
        with self._sandbox_lock:
            if self._sandbox is None:
                from sciswarm.sandboxes.factory import make_sandbox

                sc = self.cfg.sandbox
                self._sandbox = make_sandbox(
                    sc.provider, image=sc.image, on_log=lambda level, text: self._log(level, text)
                )
                kind = "isolated" if self._sandbox.isolated else "NOT isolated"
                self._log("info", f"sandbox provider: {self._sandbox.name} ({kind})")
                from sciswarm.sandboxes.slots import BoundedSandbox, GpuSlots

                if sc.gpus_per_run or sc.gpu_devices:
                    slots = GpuSlots(self._sandbox, sc.gpu_devices, sc.gpus_per_run)
                    self._sandbox = slots
                    limit = sc.max_parallel_runs or slots.slots
                else:
                    limit = sc.max_parallel_runs or max(1, int((os.cpu_count() or 1) // sc.cpus))
                self._sandbox = BoundedSandbox(self._sandbox, limit)
                self._log("info", f"experiments run at most {limit} at a time")
            return self._sandbox

    def run_spec(self, argv: list[str]) -> RunSpec:
        return spec_from_config(self.cfg.sandbox, argv)

    @property
    def literature(self) -> Any:
        if not self._literature_ready:
            self._literature_ready = True
            if self.cfg.literature.engine != "none":
                from sciswarm.literature import LiteratureSearch

                self._literature = LiteratureSearch.from_config(self.cfg.literature, Path(self.cfg.base_dir))
        return self._literature

    async def close(self) -> None:
        if self._literature is not None:
            await asyncio.to_thread(self._literature.close)
