"""A role for the data-step tests: runs the template's baseline through the lab (the configured sandbox, with
the run's read-only data mount) and reports what experiment.py saw of the data."""

from __future__ import annotations

import json

from pydantic import BaseModel

from sciswarm.agents.base import Role
from sciswarm.events import Message, Note
from sciswarm.templates import copy_template


class DataProbe(Role[BaseModel]):
    name = "data_probe"
    subscribes = ("start",)

    async def handle(self, message: Message) -> None:
        assert self.ctx.template is not None
        ws = self.ctx.workspace
        copy_template(self.ctx.template, ws)
        result = await self.ctx.lab.run(ws, ["python", "experiment.py", "--out_dir=run_0"], label="run_0")
        probe = json.loads((ws / "run_0" / "data_probe.json").read_text()) if result.ok else {}
        data = {"probe": probe, "workspace_has_data": (ws / "data").exists(), "stderr": result.stderr_tail}
        await self.ctx.publish(Note(idea_id="probe", text="data probe", data=data), parent=message)
