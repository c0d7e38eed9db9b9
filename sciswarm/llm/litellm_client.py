"""Any LiteLLM model (anthropic/..., openai/..., ollama/..., an OpenAI-compatible api_base) behind ModelClient.

Every attempt is metered; transient errors (429, 5xx, timeouts, connection) are retried with bounded,
jittered exponential backoff (the SDK's own hidden retries are off). Every request goes through its
provider's gate (``llm/gate.py``): concurrency and requests per minute bounded, and a 429 pauses every caller
of that provider (for its Retry-After when it sends one) instead of only the one that got it. A JSON schema
becomes the provider's structured-output mode where LiteLLM says the model supports it. Images go as base64
data URLs to models LiteLLM knows to have vision. litellm is imported lazily: it takes seconds to import.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sciswarm.errors import ExpectedFailure
from sciswarm.ledger import BudgetExceeded, Ledger
from sciswarm.llm.gate import ProviderGate, is_rate_limited, retry_after_of
from sciswarm.llm.metered import Metered
from sciswarm.llm.providers import provider_of
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
    def gate(self) -> ProviderGate:
        """The provider's bounds and back-off, shared by every client of this provider."""
        return self._gate

    def request(
        self, messages: list[ChatMessage], json_schema: dict[str, Any] | None, temperature: float | None
    ) -> dict[str, Any]:
        """The keyword arguments of litellm.acompletion for one call."""
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
        if json_schema is not None and _supports("response_schema", self.model):
            name = str(json_schema.get("title") or "reply")
            kw["response_format"] = {"type": "json_schema", "json_schema": {"name": name, "schema": json_schema}}
        kw.update(self._extra)
        return kw

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
    ) -> Reply:
        kw = self.request(messages, json_schema, temperature)
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
                self._failed(failure, started, attempt=attempt)
                retries, base, cap = self._max_retries, self._backoff_base_s, self._backoff_max_s
                if await retry_after_failure(failure, attempt, self._gate, retries=retries, base_s=base, max_s=cap):
                    continue
                raise ModelCallError(f"{self.model}: {type(failure).__name__}: {failure}") from failure
            reply = _reply(resp)
            self._succeeded(reply.usage, started, attempt=attempt, cost_usd=cost_usd(self.model, reply.usage))
            return reply


def _reply(resp: Any) -> Reply:
    return Reply(text=resp.choices[0].message.content or "", usage=usage_of(getattr(resp, "usage", None)))
