"""The typed ports a role works through: its thread on the bus, its idea's folder, the lab, the models, the
swarm's flow settings. Each is small and testable on its own (``sciswarm.testing`` builds fake ones).

- ``Thread``: publish on the bus, record trace events, log, stream a command's output lines (one object).
- ``IdeaFolder``: the one owner of ``runs/<run>/ideas/<idea>/`` (idea, novelty, plan, notes, reviews, ...).
- ``Lab``: sandboxed runs under the swarm's limits; a role names the command, never its own timeout.
- ``Models``: the role's default model, the swarm's other models by name, and the one that looks at figures.
- ``Flow``: the run-wide settings a role may read.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sciswarm.errors import SetupError
from sciswarm.events import Log, Message, OutputLine, SandboxExec, Trace

if TYPE_CHECKING:
    from sciswarm.ledger import Ledger
    from sciswarm.llm import ModelHandle
    from sciswarm.sandboxes.base import RunResult, RunSpec, Sandbox


@dataclass(frozen=True)
class Flow:
    """Run-wide settings a role may read (from the YAML's top level and ``flow:``)."""

    goal: str = ""
    max_ideas: int = 10
    proceed_on_unknown_novelty: bool = True
    seeds: int = 1  # every experiment run (and the baseline) is repeated with this many seeds


class Thread:
    """One role's voice in one research thread (idea): everything it says goes through here."""

    def __init__(
        self,
        *,
        run_id: str,
        idea_id: str,
        role: str,
        publish: Callable[[Message], Awaitable[None]],
        record: Callable[[Trace], None],
    ) -> None:
        self.run_id, self.idea_id, self.role = run_id, idea_id, role
        self._publish, self._record = publish, record

    async def publish(self, message: Message, *, parent: Message | None = None) -> None:
        """Publish on the bus; run_id, sender and (unless set) idea_id are filled in."""
        message.run_id = self.run_id
        message.sender = self.role
        if message.idea_id == "swarm":
            message.idea_id = self.idea_id
        if parent is not None and message.parent_id is None:
            message.parent_id = parent.id
        await self._publish(message)

    def trace(self, event: Trace) -> None:
        """Record a trace event (e.g. a sandbox execution) in the transcript."""
        event.run_id, event.idea_id, event.sender = self.run_id, self.idea_id, self.role
        self._record(event)

    def log(self, text: str, level: str = "info") -> None:
        self.trace(Log(level=level, text=text))

    def output(self, stream: str, line: str) -> None:
        """One line of a running command, live in the transcript."""
        self.trace(OutputLine(stream=stream, line=line))


class IdeaFolder:
    """``runs/<run>/ideas/<idea>/``: what the roles of one idea keep on disk, read and written in one place."""

    def __init__(self, run_dir: Path, idea_id: str) -> None:
        self.run_dir = run_dir
        self.idea_id = idea_id
        self.path = run_dir / "ideas" / idea_id

    @property
    def workspace(self) -> Path:
        return self.path / "workspace"

    @property
    def paper(self) -> Path:
        return self.path / "paper"

    def logs(self, label: str) -> Path:
        folder = self.path / "logs" / label
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def sibling(self, idea_id: str) -> IdeaFolder:
        return IdeaFolder(self.run_dir, idea_id)

    def ideas(self) -> list[IdeaFolder]:
        """Every idea folder of the run, by name."""
        root = self.run_dir / "ideas"
        return [IdeaFolder(self.run_dir, p.name) for p in sorted(root.iterdir()) if p.is_dir()] if root.is_dir() else []

    def _read(self, name: str) -> Any:
        f = self.path / name
        try:
            return json.loads(f.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def _write(self, name: str, data: Any) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / name).write_text(json.dumps(data, indent=2))

    def idea(self) -> dict[str, Any] | None:
        return self._read("idea.json")

    def write_idea(self, idea: dict[str, Any]) -> None:
        self._write("idea.json", idea)

    def novelty(self) -> dict[str, Any] | None:
        return self._read("novelty.json")

    def write_novelty(self, verdict: dict[str, Any]) -> None:
        self._write("novelty.json", verdict)

    def plan(self) -> list[str]:
        """The coder's plan: one line per run (run 1 first); [] before there is one."""
        plan = self._read("plan.json")
        return [str(x) for x in plan] if isinstance(plan, list) else []

    def write_plan(self, plan: list[str]) -> None:
        self._write("plan.json", plan)

    def reviews(self) -> dict[str, Any] | None:
        return self._read("reviews.json")

    def write_reviews(self, reviews: dict[str, Any]) -> None:
        self._write("reviews.json", reviews)

    def claims(self) -> dict[str, Any] | None:
        """The claims audit of the latest paper revision (``claims.json``)."""
        return self._read("claims.json")

    def write_claims(self, audit: dict[str, Any]) -> None:
        self._write("claims.json", audit)

    def run_flags(self) -> dict[str, list[str]]:
        """What the experimenter flagged per run (``run_<i>`` -> flags): unchanged code, non-finite metrics,
        seeds ignored. Carried into the claims audit."""
        flags = self._read("run_flags.json")
        return {str(k): [str(x) for x in v] for k, v in flags.items()} if isinstance(flags, dict) else {}

    def flag_run(self, run: int, flag: str) -> None:
        flags = self.run_flags()
        items = flags.setdefault(f"run_{run}", [])
        if flag not in items:
            items.append(flag)
        self._write("run_flags.json", flags)

    def clear_run_flags(self, run: int) -> None:
        flags = self.run_flags()
        if flags.pop(f"run_{run}", None) is not None:
            self._write("run_flags.json", flags)

    def notes(self) -> str:
        f = self.path / "notes.txt"
        return f.read_text() if f.exists() else ""

    def add_notes(self, text: str) -> None:
        """Append to notes.txt (the experiment log that coder and experimenter write, the writer reads)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.path / "notes.txt").open("a") as fh:
            fh.write(text)


class Lab:
    """Sandboxed runs under the swarm's limits (timeout, memory, CPUs, GPU slots, parallel runs): the spec
    comes from the config, never from the role. Each run records its exec event and streams its output.
    Several runs may be in flight at once; the sandbox behind bounds them."""

    def __init__(
        self,
        sandbox: Callable[[], Sandbox],
        spec: Callable[[list[str]], RunSpec],
        thread: Thread,
        folder: IdeaFolder,
    ) -> None:
        self._sandbox, self._spec, self._thread, self._folder = sandbox, spec, thread, folder

    def limits(self, argv: list[str] | None = None) -> RunSpec:
        """The spec a run gets (for messages that quote the limits)."""
        return self._spec(argv or ["python"])

    async def run(self, workspace: Path, argv: list[str], *, label: str, seed: int | None = None) -> RunResult:
        """Run ``argv`` in ``workspace``; full logs under the idea's ``logs/<label>/``. ``seed`` is given to the
        command as ``SCISWARM_SEED`` in its environment. The result says how many GPUs the run held (``gpus``)."""
        spec = self._spec(argv)
        if seed is not None:
            spec = dataclasses.replace(spec, env={**spec.env, "SCISWARM_SEED": str(seed)})
        sandbox = self._sandbox()
        result = await sandbox.run(workspace, spec, on_output=self._thread.output, log_dir=self._folder.logs(label))
        if result.gpus is None:  # no GPU slots in front of the provider: the run held what its spec asked for
            result.gpus = spec.gpu_count
        self._thread.trace(
            SandboxExec(
                provider=sandbox.name,
                command=argv,
                exit_code=result.exit_code,
                timed_out=result.timed_out,
                oom_killed=result.oom_killed,
                wall_s=result.wall_s,
                gpus=result.gpus,
                gpu_ids=result.gpu_ids,
            )
        )
        return result


class NoLab(Lab):
    """The lab of a swarm without a sandbox: using it is a clear setup error."""

    def __init__(self) -> None:
        pass

    def limits(self, argv: list[str] | None = None) -> RunSpec:
        raise SetupError("no sandbox is configured for this swarm")

    async def run(self, workspace: Path, argv: list[str], *, label: str, seed: int | None = None) -> RunResult:
        raise SetupError("no sandbox is configured for this swarm")


class Models:
    """The swarm's models as a role sees them: handles bound to the role and its idea."""

    def __init__(
        self,
        handle: Callable[[str], ModelHandle],
        ledger: Ledger | None = None,
        vision: Callable[[], ModelHandle] | None = None,
    ) -> None:
        self._handle = handle
        self.ledger = ledger
        self._vision = vision

    def named(self, name: str) -> ModelHandle:
        """Another model of the swarm by its ``models:`` name (names are checked when the config loads)."""
        return self._handle(name)

    def vision(self) -> ModelHandle | None:
        """The model that looks at images (the swarm's ``vision_model``, else the role's own); None when the
        context was built without one (then use the role's own model)."""
        return self._vision() if self._vision is not None else None
