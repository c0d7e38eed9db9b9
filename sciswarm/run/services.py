"""Shared services a run hands to its roles: template, sandbox, run specs, literature search.

Heavy pieces (docker, the literature client) are created on first use, once per run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sciswarm.events import SlotState
from sciswarm.run.config import ConfigError, SwarmConfig
from sciswarm.sandboxes.base import ReadOnlyMount, RunSpec, Sandbox, SandboxError
from sciswarm.sandboxes.needs import Needs, UnmetNeeds
from sciswarm.sandboxes.spec import spec_from_config

LogFn = Callable[..., None]


class TemplateNeedsError(ConfigError, UnmetNeeds):
    """The template's Python needs cannot be met: a setup error, found before anything runs (exit 2)."""


class Services:
    def __init__(
        self, cfg: SwarmConfig, run_dir: Path, *, log: LogFn, trace: Callable[[SlotState], None] | None = None
    ) -> None:
        """``trace`` gets the sandbox's slot changes (a SlotState record each: the transcript)."""
        self.cfg = cfg
        self.run_dir = run_dir
        self._log = log
        self._trace = trace
        self.template: Path | None = cfg.path(cfg.template) if cfg.template else None
        self._sandbox: Sandbox | None = None
        self._sandbox_lock = threading.Lock()
        self._literature: Any = None
        self._literature_ready = False
        self.mounts: tuple[ReadOnlyMount, ...] = ()  # read-only folders every run gets (the template's data)
        self.needs = self._prepare_needs()

    def _prepare_needs(self) -> Needs:
        """The template's Python needs. When they go beyond the experiment image, the sandbox is made now (the
        derived image built, or the local python checked), so an unmet need stops the run before any model call;
        a sandbox that cannot be made at all is left to the first experiment, as without needs."""
        if self.template is None:
            return Needs()
        from sciswarm.templates.needs import template_needs

        try:
            needs = template_needs(self.template, self.cfg.sandbox.with_paths_from(self.cfg.base_dir))
            self._log("info", f"template python needs: {needs.describe()}")
            if needs.beyond_experiment_image:
                self.needs = needs
                self.sandbox()
        except UnmetNeeds as exc:
            raise TemplateNeedsError(str(exc)) from None
        except SandboxError as exc:
            self._log("warning", f"sandbox not ready yet: {exc}")
        return needs

    def prompt_dirs(self) -> list[Path]:
        """User prompt overrides: a `prompts/` folder beside the swarm YAML, if any."""
        folder = Path(self.cfg.base_dir) / "prompts"
        return [folder] if folder.is_dir() else []

    def sandbox(self) -> Sandbox:
        with self._sandbox_lock:
            if self._sandbox is None:
                from sciswarm.sandboxes.factory import make_sandbox

                sc = self.cfg.sandbox
                if self.cfg.executor.kind == "ray":
                    return self._ray_sandbox()
                self._sandbox = make_sandbox(
                    sc.provider, image=sc.image, needs=self.needs, on_log=lambda level, text: self._log(level, text)
                )
                kind = "isolated" if self._sandbox.isolated else "NOT isolated"
                self._log("info", f"sandbox provider: {self._sandbox.name} ({kind})")
                from sciswarm.sandboxes.slots import BoundedSandbox, GpuSlots

                if sc.gpus_per_run or sc.gpu_devices:
                    slots = GpuSlots(self._sandbox, sc.gpu_devices, sc.gpus_per_run)
                    self._sandbox = slots
                    limit = min(sc.max_parallel_runs or slots.slots, slots.slots)  # a run waits only here
                else:
                    limit = sc.max_parallel_runs or max(1, int((os.cpu_count() or 1) // sc.cpus))
                self._sandbox = BoundedSandbox(self._sandbox, limit, on_change=self._trace)
                self._log("info", f"experiments run at most {limit} at a time")
            return self._sandbox

    def _ray_sandbox(self) -> Sandbox:
        """Runs as Ray tasks: Ray's resources bound them (and pick GPUs); max_parallel_runs still applies."""
        from sciswarm.sandboxes.factory import make_ray_sandbox
        from sciswarm.sandboxes.slots import BoundedSandbox

        sc = self.cfg.sandbox
        sandbox = make_ray_sandbox(
            self.cfg.executor,
            sc.provider,
            image=sc.image,
            needs=self.needs,
            on_log=lambda lv, text: self._log(lv, text),
        )
        self._log("info", f"executor: ray at {self.cfg.executor.address}; runs use {sc.provider} on their node")
        self._sandbox = sandbox
        if sc.max_parallel_runs:
            self._sandbox = BoundedSandbox(sandbox, sc.max_parallel_runs, on_change=self._trace)
        return self._sandbox

    def run_spec(self, argv: list[str]) -> RunSpec:
        return dataclasses.replace(spec_from_config(self.cfg.sandbox, argv), mounts=self.mounts)

    async def prepare_data(self) -> None:
        """The template's data step (templates/data.py): its prepare scripts run once on this host (cached under
        data_dir, default <runs_dir>/.data); every run then gets the result read-only. Raises DataPrepError."""
        if self.template is None:
            return
        from sciswarm.templates.data import prepare_data

        cache = Path(self.cfg.data_dir).expanduser() if self.cfg.data_dir else self.run_dir.parent / ".data"
        prepared = await asyncio.to_thread(prepare_data, self.template, cache, log=self._log)
        self.mounts = (prepared.mount(),) if prepared else ()

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
