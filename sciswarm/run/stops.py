"""Every way a run is told to end before its bus goes idle, in one place. The first request wins."""

from __future__ import annotations

import asyncio


class Stops:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.status = "stopped"
        self.reason = ""

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()

    def request(self, status: str, reason: str) -> None:
        if not self._event.is_set():
            self.status, self.reason = status, reason
            self._event.set()

    def stop_message(self, sender: str, reason: str) -> None:
        self.request("stopped", f"Stop published by {sender}: {reason}")

    def message_limit(self, limit: int) -> None:
        self.request("stopped", f"message limit reached ({limit})")

    def budget(self, reason: str) -> None:
        self.request("stopped", reason)

    def time_limit(self, seconds: float | None) -> None:
        self.request("stopped", f"run time limit reached ({seconds} s)")

    def interrupted(self, why: str) -> None:
        self.request("interrupted", why)
