"""Any LiteLLM model (anthropic/..., openai/..., ollama/..., an OpenAI-compatible api_base) behind ModelClient.

Every attempt is metered; transient errors (429, 5xx, timeouts, connection) are retried with bounded,
jittered exponential backoff (the SDK's own hidden retries are off). Every request goes through its
provider's gate (``llm/gate.py``): concurrency and requests per minute bounded, and a 429 pauses every caller
of that provider (for its Retry-After when it sends one) instead of only the one that got it. A JSON schema
goes as the server's structured-output form (``llm/structured.py``: the ``structured_output`` setting; on ``auto``
what LiteLLM's map knows, or for a self-hosted ``api_base`` what a one-time probe finds). Prompts longer than the
model's context window are trimmed or refused (``llm/context.py``). Images go as base64 data URLs to models LiteLLM
knows to have vision. litellm is imported lazily: it takes seconds to import.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import os
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sciswarm.errors import ExpectedFailure
from sciswarm.ledger import CALL_CONTEXT, BudgetExceeded, Ledger
from sciswarm.llm.context import fit_to_window
from sciswarm.llm.gate import ProviderGate, is_rate_limited, retry_after_of
from sciswarm.llm.metered import Metered
from sciswarm.llm.providers import provider_of
from sciswarm.llm.structured import PROBE_PROMPT, PROBED, StructuredMode, WireMode, probe, response_format
from sciswarm.llm.types import ChatMessage, Image, Reply, Usage

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}
TRANSIENT_NAMES = {
    "RateLimitError",
    "Timeout",
    "APIConnectionError",
    "InternalServerError",
    "ServiceUnavailableError",
    "BadGatewayError",
}


class ModelCallError(ExpectedFailure, RuntimeError):
    """A model call failed for good (non-transient error, or retries exhausted)."""


CallGuard = Callable[[str, str | None], None]
_guards: list[CallGuard] = []


def add_call_guard(guard: CallGuard) -> Callable[[], None]:
    """``guard(model, api_base)`` runs before every provider request and may raise to refuse it (the test kit's
    live-call guard uses this). Returns a function that removes it."""
    _guards.append(guard)
    return lambda: _guards.remove(guard)


def check_guards(model: str, api_base: str | None) -> None:
    """Run every call guard for a request about to go out (any client that calls a provider calls this)."""
    for guard in list(_guards):
        guard(model, api_base)


def cost_usd(model: str, usage: Usage) -> float:
    """The call's price from LiteLLM's offline cost map; 0 for models not in it (local/self-hosted)."""
    try:
        p, c = litellm_module().cost_per_token(
            model=model, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens
        )
        return float(p + c)
    except Exception:
        return 0.0  # tokens are still recorded


def backoff_s(attempt: int, base_s: float, max_s: float) -> float:
    """The jittered, capped exponential wait before retry ``attempt + 1``."""
    delay: float = min(max_s, base_s * 2 ** (attempt - 1))
    return delay * (0.5 + random.random() / 2)


async def retry_after_failure(
    exc: BaseException, attempt: int, gate: ProviderGate, *, retries: int, base_s: float, max_s: float
) -> bool:
    """After failed attempt ``attempt``: True to try again (once waited), False to give up. A 429 pauses the
    whole provider, retried or not (the next turn at the gate waits it out); other transient errors wait
    this caller's own jittered backoff."""
    delay = backoff_s(attempt, base_s, max_s)
    if is_rate_limited(exc):
        gate.rate_limited(retry_after_of(exc), delay)
    again = is_transient(exc) and attempt <= retries
    if again and not is_rate_limited(exc):
        await asyncio.sleep(delay)
    return again


def default_gate(model: str, api_base: str | None) -> ProviderGate:
    """The gate of a client built alone (outside a swarm, which shares one per provider)."""
    return ProviderGate(provider_of(model, api_base), max_concurrency=8)


def usage_of(raw: Any) -> Usage:
    """Usage from a LiteLLM response's (or stream chunk's) ``usage`` object."""
    details = getattr(raw, "prompt_tokens_details", None)
    return Usage(
        prompt_tokens=int(getattr(raw, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(raw, "completion_tokens", 0) or 0),
        cached_tokens=int(getattr(details, "cached_tokens", 0) or 0) if details else 0,
    )


def litellm_module() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def is_transient(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status in TRANSIENT_STATUS:
        return True
    return type(exc).__name__ in TRANSIENT_NAMES or isinstance(exc, TimeoutError | ConnectionError)


def supports_cache_control(model: str) -> bool:
    """Providers whose prompt caching needs explicit breakpoints (OpenAI and others cache prefixes on their own)."""
    m = model.lower()
    return m.startswith("anthropic/") or (m.startswith(("bedrock/", "vertex_ai/")) and "claude" in m)


def mark_stable_prefix(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Put cache breakpoints on the system message and the first user message: the stable prefix
    (role instructions, the idea's digest) that repeated calls share. LiteLLM passes them through."""
    marked = [dict(m) for m in messages]
    targets = [i for i, m in enumerate(marked) if m["role"] == "system"][:1]
    targets += [i for i, m in enumerate(marked) if m["role"] == "user"][:1]
    for i in targets:
        content = marked[i].get("content")
        if isinstance(content, str) and len(content) > 200:
            marked[i]["content"] = [{"type": "text", "text": content, "cache_control": {"type": "ephemeral"}}]
    return marked


def image_url(image: Image) -> str:
    data = image.read_bytes() if isinstance(image, Path) else image
    kind = "jpeg" if data[:3] == b"\xff\xd8\xff" else "png"
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


def to_openai(message: ChatMessage) -> dict[str, Any]:
    if not message.images:
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
    parts += [{"type": "image_url", "image_url": {"url": image_url(i)}} for i in message.images]
    return {"role": message.role, "content": parts}


@functools.cache
def _supports(what: str, model: str) -> bool:
    try:
        return bool(getattr(litellm_module(), f"supports_{what}")(model=model))
    except Exception:  # unknown to LiteLLM's map (self-hosted models): assume not
        return False


class LiteLLMClient(Metered):
    def __init__(
        self,
        model: str,
        *,
        ledger: Ledger | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 30.0,
        gate: ProviderGate | None = None,
        extra: Mapping[str, Any] | None = None,
        prompt_caching: bool = True,
        structured_output: StructuredMode = "auto",
        context_window: int | None = None,
        notice: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__(model, ledger)
        self.model = model
        self._api_base, self._api_key = api_base, api_key
        self._temperature, self._max_tokens = temperature, max_tokens
        self._timeout_s = timeout_s
        self._max_retries, self._backoff_base_s, self._backoff_max_s = max_retries, backoff_base_s, backoff_max_s
        self._gate = gate or default_gate(model, api_base)
        self._extra = dict(extra or {})
        self._prompt_caching = prompt_caching
        self._structured: StructuredMode = structured_output
        self._window_given = context_window
        self._notice = notice
        self._probe_lock: asyncio.Lock | None = None

    @property
    def vision(self) -> bool:
        return _supports("vision", self.model)

    # read-only views of the settings (for clients built over the same model, e.g. sciswarm.interop)
    @property
    def api_base(self) -> str | None:
        return self._api_base

    @property
    def api_key(self) -> str | None:
        return self._api_key

    @property
    def temperature(self) -> float | None:
        return self._temperature

    @property
    def max_tokens(self) -> int | None:
        return self._max_tokens

    @property
    def timeout_s(self) -> float:
        return self._timeout_s

    @property
    def max_retries(self) -> int:
        return self._max_retries

    @property
    def backoff_base_s(self) -> float:
        return self._backoff_base_s

    @property
    def backoff_max_s(self) -> float:
        return self._backoff_max_s

    @property
    def prompt_caching(self) -> bool:
        return self._prompt_caching

    @property
    def context_window(self) -> int | None:
        """The prompt's limit in tokens: the ``context_window`` given, else LiteLLM's map, else None (no check)."""
        return self._window_given or known_context_window(self.model)

    @property
    def gate(self) -> ProviderGate:
        """The provider's bounds and back-off, shared by every client of this provider."""
        return self._gate

    def _say(self, level: str, text: str) -> None:
        if self._notice is not None:
            self._notice(level, text)

    def request(
        self,
        messages: list[ChatMessage],
        json_schema: dict[str, Any] | None,
        temperature: float | None,
        wire: WireMode | None = None,
    ) -> dict[str, Any]:
        """The keyword arguments of litellm.acompletion for one call (``wire``: the structured-output form for
        ``json_schema``; default: what ``structured_output`` resolves to without probing)."""
        window = self.context_window
        if window is not None:
            messages, dropped = fit_to_window(messages, window, self._max_tokens, self.model)
            if dropped:
                self._say("warning", f"{self.model}: {dropped} earlier turns left out to fit its context window")
        body = [to_openai(m) for m in messages]
        if self._prompt_caching and supports_cache_control(self.model):
            body = mark_stable_prefix(body)
        kw: dict[str, Any] = {
            "model": self.model,
            "messages": body,
            "timeout": self._timeout_s,
            "num_retries": 0,
            "max_retries": 0,
        }
        optional = {
            "api_base": self._api_base,
            "api_key": self._api_key,
            "temperature": self._temperature if temperature is None else temperature,
            "max_tokens": self._max_tokens,
        }
        kw.update({k: v for k, v in optional.items() if v is not None})
        if json_schema is not None:
            fmt = response_format(wire or self._static_wire(), json_schema)
            if fmt is not None:
                kw["response_format"] = fmt
        kw.update(self._extra)
        return kw

    def _static_wire(self) -> WireMode:
        """The form ``structured_output`` gives without a probe (``auto``: LiteLLM's map, else off)."""
        if self._structured != "auto":
            return self._structured
        if _supports("response_schema", self.model):
            return "json_schema"
        cached = PROBED.get(self.model, self._api_base) if self._api_base else None
        return cached[0] if cached else "off"

    async def wire_mode(self) -> WireMode:
        """The structured-output form this model's requests use; on ``auto`` with an ``api_base`` LiteLLM's map does
        not know, probed once per server and model (and remembered), the finding said in the run's log."""
        if self._structured != "auto" or _supports("response_schema", self.model) or not self._api_base:
            return self._static_wire()
        if self._probe_lock is None:
            self._probe_lock = asyncio.Lock()
        async with self._probe_lock:
            found = PROBED.get(self.model, self._api_base)
            if found is None:
                found = await self._probe()
                PROBED.put(self.model, self._api_base, found)
                mode, why = found
                level = "info" if mode != "off" else "warning"
                self._say(level, f"{self.model} at {self._api_base}: structured output {mode} (probed: {why})")
            return found[0]

    async def _probe(self) -> tuple[WireMode, str]:
        ctx = CALL_CONTEXT.get()
        token = CALL_CONTEXT.set(dataclasses.replace(ctx, stage="structured-output-probe"))
        try:

            async def send(fmt: dict[str, Any]) -> str:
                kw = self.request([ChatMessage("user", PROBE_PROMPT)], None, 0.0, "off")
                kw.update(response_format=fmt, max_tokens=32)
                structured = str(fmt["type"])
                return (await self._call(kw, retries=0, structured=structured)).text

            return await probe(send)
        finally:
            CALL_CONTEXT.reset(token)

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
    ) -> Reply:
        wire = await self.wire_mode() if json_schema is not None else "off"
        kw = self.request(messages, json_schema, temperature, wire)
        return await self._call(kw, retries=self._max_retries, structured="" if wire == "off" else wire)

    async def _call(self, kw: dict[str, Any], *, retries: int, structured: str) -> Reply:
        check_guards(self.model, self._api_base)
        litellm = litellm_module()
        attempt = 0
        while True:
            attempt += 1
            failure: Exception | None = None
            async with self._gate.turn():
                started = self._before()  # raises BudgetExceeded
                try:
                    resp = await litellm.acompletion(**kw)
                except BudgetExceeded:
                    raise
                except Exception as exc:
                    failure = exc
            if failure is not None:
                self._failed(failure, started, attempt=attempt, structured=structured)
                base, cap = self._backoff_base_s, self._backoff_max_s
                if await retry_after_failure(failure, attempt, self._gate, retries=retries, base_s=base, max_s=cap):
                    continue
                raise ModelCallError(f"{self.model}: {type(failure).__name__}: {failure}") from failure
            reply = _reply(resp, structured)
            cost = cost_usd(self.model, reply.usage)
            self._succeeded(reply.usage, started, attempt=attempt, cost_usd=cost, structured=structured)
            return reply


@functools.cache
def known_context_window(model: str) -> int | None:
    """The model's input window from LiteLLM's offline map (None: unknown, e.g. a self-hosted model)."""
    try:
        info = litellm_module().get_model_info(model=model)
    except Exception:
        return None
    window = info.get("max_input_tokens") or info.get("max_tokens")
    return int(window) if window else None


def _reply(resp: Any, structured: str = "") -> Reply:
    text = resp.choices[0].message.content or ""
    return Reply(text=text, usage=usage_of(getattr(resp, "usage", None)), structured=structured)
