"""Message throughput of sciswarm's Bus (with the transcript written) against raw autogen-core.

    .venv/bin/python benchmarks/bus_throughput.py [--messages 20000] [--repeats 3] [--quick]

Each variant publishes N messages to one trivial subscriber on a fresh SingleThreadedAgentRuntime and waits
until the runtime is idle; the clock covers building the messages, publishing and handling them all.

- raw autogen-core, dataclass: ``runtime.publish_message`` of a dataclass with the fields of ``Note``;
- raw autogen-core, pydantic: the same with a pydantic model of those fields;
- sciswarm Bus, no transcript: ``Bus.publish(Note(...))`` with a recorder that does nothing;
- sciswarm Bus + transcript: the same with the recorder writing each message to a ``Transcript`` JSONL file
  (flushed per line), as ``SwarmRunner`` wires it.

Prints the best messages/s of the repeats for each, and the ratios to raw autogen-core (goal: the Bus with
its transcript at >= 0.7x raw).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autogen_core import BaseAgent, MessageContext, SingleThreadedAgentRuntime, TopicId, TypeSubscription
from pydantic import BaseModel, Field

from sciswarm.events import Message, Note
from sciswarm.run.bus import Bus
from sciswarm.run.store import Transcript

GOAL = 0.7


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class RawNote:
    """What a hand-written autogen-core app would publish: the fields of sciswarm's Note."""

    text: str
    kind: str = "note"
    id: str = field(default_factory=_new_id)
    run_id: str = ""
    idea_id: str = "swarm"
    sender: str = ""
    parent_id: str | None = None
    ts: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)


class PydanticNote(BaseModel):
    text: str
    kind: str = "note"
    id: str = Field(default_factory=_new_id)
    run_id: str = ""
    idea_id: str = "swarm"
    sender: str = ""
    parent_id: str | None = None
    ts: float = Field(default_factory=time.time)
    data: dict[str, Any] = Field(default_factory=dict)


class Sink(BaseAgent):
    def __init__(self) -> None:
        super().__init__("counts what it receives")
        self.received = 0

    async def on_message_impl(self, message: Any, ctx: MessageContext) -> Any:
        self.received += 1
        return None


async def raw_autogen(n: int, make: Callable[[int], Any]) -> float:
    runtime = SingleThreadedAgentRuntime()
    sinks: list[Sink] = []

    def factory() -> Sink:
        sinks.append(Sink())
        return sinks[-1]

    await Sink.register(runtime, "sink", factory)
    await runtime.add_subscription(TypeSubscription(topic_type="note", agent_type="sink"))
    runtime.start()
    topic = TopicId(type="note", source="swarm")
    t0 = time.perf_counter()
    for i in range(n):
        await runtime.publish_message(make(i), topic)
    await runtime.stop_when_idle()
    elapsed = time.perf_counter() - t0
    assert sum(s.received for s in sinks) == n
    return elapsed


async def sciswarm_bus(n: int, transcript_path: Path | None) -> float:
    transcript = Transcript(transcript_path) if transcript_path else None

    def record(message: Message) -> None:
        if transcript is not None:
            transcript.write(message)

    bus = Bus(recorder=record)
    received = 0

    def handler_for(idea_id: str) -> Callable[[Message], Awaitable[None]]:
        async def handle(message: Message) -> None:
            nonlocal received
            received += 1

        return handle

    await bus.add_role("sink", ["note"], handler_for, "counts what it receives")
    bus.start()
    t0 = time.perf_counter()
    for i in range(n):
        await bus.publish(Note(text=f"message {i}", sender="bench"))
    await bus.wait_idle()
    elapsed = time.perf_counter() - t0
    if transcript is not None:
        transcript.close()
        assert transcript.count == n
    assert received == n
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="5000 messages, 2 repeats")
    args = parser.parse_args()
    n, repeats = (5_000, 2) if args.quick else (args.messages, args.repeats)
    work = Path(tempfile.mkdtemp(prefix="sciswarm-bench-bus-"))
    variants: dict[str, Callable[[], Coroutine[Any, Any, float]]] = {
        "raw autogen-core, dataclass": lambda: raw_autogen(n, lambda i: RawNote(text=f"message {i}")),
        "raw autogen-core, pydantic": lambda: raw_autogen(n, lambda i: PydanticNote(text=f"message {i}")),
        "sciswarm Bus, no transcript": lambda: sciswarm_bus(n, None),
        "sciswarm Bus + transcript": lambda: sciswarm_bus(n, work / "transcript.jsonl"),
    }
    best: dict[str, float] = dict.fromkeys(variants, float("inf"))
    try:
        for _ in range(repeats):  # interleaved, so drifts of the machine hit every variant alike
            for label, once in variants.items():
                (work / "transcript.jsonl").unlink(missing_ok=True)
                best[label] = min(best[label], asyncio.run(once()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rate = {label: n / t for label, t in best.items()}
    base_dc, base_pd = rate["raw autogen-core, dataclass"], rate["raw autogen-core, pydantic"]
    print(f"{n} messages to one subscriber, best of {repeats}")
    print(f"  {'variant':<30} {'msg/s':>9} {'vs raw dataclass':>17} {'vs raw pydantic':>16}")
    for label, r in rate.items():
        print(f"  {label:<30} {r:9,.0f} {r / base_dc:16.2f}x {r / base_pd:15.2f}x")
    ratio = rate["sciswarm Bus + transcript"] / base_dc
    verdict = "meets" if ratio >= GOAL else "MISSES"
    print(f"  -> Bus + transcript / raw autogen-core (dataclass) = {ratio:.2f}x ({verdict} the goal >= {GOAL}x)")


if __name__ == "__main__":
    main()
