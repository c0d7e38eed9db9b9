"""Small roles used by the swarm tests (real roles on the real bus)."""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel

from sciswarm.agents.base import Role
from sciswarm.events import Message, Note, Stop


class SleepParams(BaseModel):
    seconds: float = 1.0


class FanOut(Role[BaseModel]):
    """On start, opens N research threads by publishing a note per idea."""

    name = "fanout"
    subscribes = ("start",)

    class Params(BaseModel):
        ideas: int = 4

    async def handle(self, message: Message) -> None:
        for i in range(self.params.ideas):  # type: ignore[attr-defined]
            await self.ctx.publish(Note(idea_id=f"idea{i}", text=f"thread {i}"), parent=message)


class Sleeper(Role[SleepParams]):
    """Sleeps in every thread it hears about, then reports when it woke up."""

    name = "sleeper"
    subscribes = ("note",)
    Params = SleepParams

    async def handle(self, message: Message) -> None:
        started = time.time()
        await asyncio.sleep(self.params.seconds)
        await self.ctx.publish(Note(text="woke", data={"started": started, "ended": time.time()}), parent=message)


class Stopper(Role[BaseModel]):
    name = "stopper"
    subscribes = ("start",)

    async def handle(self, message: Message) -> None:
        await self.ctx.publish(Stop(reason="enough for today"), parent=message)


class Crasher(Role[BaseModel]):
    name = "crasher"
    subscribes = ("start",)

    async def handle(self, message: Message) -> None:
        raise RuntimeError("deliberate crash")


class SlowCritic(Role[SleepParams]):
    """Sleeps, then asks its model about the idea: a long handler to crash in the middle of."""

    name = "slow_critic"
    subscribes = ("idea",)
    Params = SleepParams

    async def handle(self, message: Message) -> None:
        await asyncio.sleep(self.params.seconds)
        reply = await self.ctx.model.ask(f"critique {getattr(message, 'title', '')}", stage="critique")
        await self.ctx.publish(Note(text=f"critique: {reply}"), parent=message)
