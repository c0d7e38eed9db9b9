"""The shared message bus on AutoGen's runtime, behind our own small interface.

Each message kind is a topic type; each research thread (idea_id) is a topic source, so
the runtime makes one instance of every role per idea and ideas run concurrently.
Swap AutoGen out by reimplementing this file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from autogen_core import (
    AgentId,
    AgentInstantiationContext,
    BaseAgent,
    MessageContext,
    SingleThreadedAgentRuntime,
    TopicId,
    TypeSubscription,
)

from sciswarm.events import Message

Handler = Callable[[Message], Awaitable[None]]
HandlerFactory = Callable[[str], Handler]  # idea_id -> handler of that idea's role instance
Recorder = Callable[[Message], None]


class _RoleAgent(BaseAgent):
    def __init__(self, description: str, handler: Handler, bus: Bus) -> None:
        super().__init__(description)
        self._handler = handler
        self._bus = bus

    async def on_message_impl(self, message: Any, ctx: MessageContext) -> Any:
        if not isinstance(message, Message) or self._bus.closed:
            return None  # after shutdown, queued messages are drained without running handlers
        task = asyncio.current_task()
        if task is not None:
            self._bus.inflight.add(task)
        try:
            await self._handler(message)
        finally:
            if task is not None:
                self._bus.inflight.discard(task)
        return None


class Bus:
    def __init__(self, recorder: Recorder) -> None:
        # handler errors are caught and recorded by the runner; AutoGen's own logging of the
        # cancellations we cause on shutdown would only be noise on the user's terminal
        logging.getLogger("autogen_core").setLevel(logging.CRITICAL)
        self._runtime = SingleThreadedAgentRuntime(ignore_unhandled_exceptions=True)
        self._recorder = recorder
        self.inflight: set[asyncio.Task[Any]] = set()
        self.published = 0
        self._started = False
        self.closed = False
        self._roles: set[str] = set()
        self._deliveries: set[asyncio.Task[Any]] = set()

    async def add_role(self, name: str, subscribes: list[str], factory: HandlerFactory, description: str) -> None:
        def make() -> _RoleAgent:
            agent_id = AgentInstantiationContext.current_agent_id()
            return _RoleAgent(description, factory(agent_id.key), self)

        await _RoleAgent.register(self._runtime, name, make)
        self._roles.add(name)
        for kind in subscribes:
            await self._runtime.add_subscription(TypeSubscription(topic_type=kind, agent_type=name))

    def start(self) -> None:
        self._runtime.start()
        self._started = True

    async def publish(self, message: Message) -> None:
        """Record, then deliver to every role subscribed to message.kind in its idea's thread."""
        if self.closed:
            return
        self.published += 1
        self._recorder(message)
        # a role does not receive its own messages; the swarm itself is not an agent
        sender = AgentId(message.sender, message.idea_id) if message.sender in self._roles else None
        await self._runtime.publish_message(message, TopicId(type=message.kind, source=message.idea_id), sender=sender)

    def deliver(self, message: Message, role: str) -> None:
        """Send an already-recorded message to one role's instance for its idea (resume)."""
        task = asyncio.create_task(self._runtime.send_message(message, AgentId(role, message.idea_id)))
        self._deliveries.add(task)
        task.add_done_callback(self._delivered)

    def _delivered(self, task: asyncio.Task[Any]) -> None:
        self._deliveries.discard(task)
        if not task.cancelled():
            task.exception()  # handlers record their own failures; retrieve so nothing is left unobserved

    async def wait_idle(self) -> None:
        """Return when no message is queued and no handler is running."""
        await self._runtime.stop_when_idle()
        self._started = False

    async def shutdown(self, idle: asyncio.Task[None] | None = None) -> None:
        """Stop now: cancel running handlers, drain queued messages without handling them.

        `idle` is a running `wait_idle()` task, if any; it completes once the queue is drained.
        """
        self.closed = True
        for task in [*self.inflight, *self._deliveries]:
            task.cancel()
        if self.inflight:
            await asyncio.wait(list(self.inflight), timeout=10)
        if not self._started:
            return
        waiter = idle or asyncio.ensure_future(self.wait_idle())
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout=15)
        except (TimeoutError, asyncio.CancelledError, RuntimeError):
            if self._started:
                self._started = False
                with contextlib.suppress(RuntimeError, asyncio.CancelledError):
                    await self._runtime.stop()
