"""The model layer: LiteLLM in-process behind AutoGen's ChatCompletionClient.

Every call is metered (tokens, cost from litellm's offline cost map, latency) through a
``Ledger``; transient errors (429, 5xx, timeouts, connection) are retried with bounded
exponential backoff. litellm is imported lazily: it takes seconds to import.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Literal

from autogen_core import CancellationToken, FunctionCall
from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    CreateResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    ModelCapabilities,
    ModelFamily,
    ModelInfo,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from sciswarm.errors import ExpectedFailure
from sciswarm.ledger import BudgetExceeded, CallRecord, Ledger

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}


class ModelCallError(ExpectedFailure, RuntimeError):
    """A model call failed for good (non-transient error, or retries exhausted)."""


def _litellm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def is_transient(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status in TRANSIENT_STATUS:
        return True
    name = type(exc).__name__
    return name in {
        "RateLimitError",
        "Timeout",
        "APIConnectionError",
        "InternalServerError",
        "ServiceUnavailableError",
        "BadGatewayError",
    } or isinstance(exc, TimeoutError | ConnectionError)


def to_openai_messages(messages: Sequence[LLMMessage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append({"role": "system", "content": m.content})
        elif isinstance(m, UserMessage):
            if isinstance(m.content, str):
                out.append({"role": "user", "content": m.content})
            else:
                parts = [p for p in m.content if isinstance(p, str)]
                out.append({"role": "user", "content": "\n".join(parts)})
        elif isinstance(m, AssistantMessage):
            if isinstance(m.content, str):
                out.append({"role": "assistant", "content": m.content})
            else:
                out.append(
                    {
                        "role": "assistant",
                        "content": m.thought,
                        "tool_calls": [
                            {
                                "id": c.id,
                                "type": "function",
                                "function": {"name": c.name, "arguments": c.arguments},
                            }
                            for c in m.content
                        ],
                    }
                )
        elif isinstance(m, FunctionExecutionResultMessage):
            for r in m.content:
                out.append({"role": "tool", "tool_call_id": r.call_id, "content": r.content})
    return out


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


def to_openai_tools(tools: Sequence[Tool | ToolSchema]) -> list[dict[str, Any]]:
    result = []
    for t in tools:
        schema = t.schema if isinstance(t, Tool) else t
        result.append({"type": "function", "function": dict(schema)})
    return result


def response_format(json_output: bool | type[BaseModel] | None) -> dict[str, Any] | None:
    if json_output is None or json_output is False:
        return None
    if json_output is True:
        return {"type": "json_object"}
    return {
        "type": "json_schema",
        "json_schema": {"name": json_output.__name__, "schema": json_output.model_json_schema()},
    }


class MeteredClient(ChatCompletionClient):
    """What every sciswarm model client shares: usage bookkeeping and the capabilities AutoGen asks for."""

    function_calling = True
    structured_output = True

    def __init__(self, model: str, ledger: Ledger | None) -> None:
        self.model = model
        self._ledger = ledger or Ledger()
        self._total = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._actual = RequestUsage(prompt_tokens=0, completion_tokens=0)

    def _account(self, usage: RequestUsage) -> None:
        self._actual = usage
        self._total = RequestUsage(
            prompt_tokens=self._total.prompt_tokens + usage.prompt_tokens,
            completion_tokens=self._total.completion_tokens + usage.completion_tokens,
        )

    async def close(self) -> None:
        return None

    def actual_usage(self) -> RequestUsage:
        return self._actual

    def total_usage(self) -> RequestUsage:
        return self._total

    @property
    def capabilities(self) -> ModelCapabilities:
        return {"vision": False, "function_calling": self.function_calling, "json_output": True}

    @property
    def model_info(self) -> ModelInfo:
        return {
            "vision": False,
            "function_calling": self.function_calling,
            "json_output": True,
            "family": ModelFamily.UNKNOWN,
            "structured_output": self.structured_output,
        }


class LiteLLMClient(MeteredClient):
    """Any LiteLLM model string (anthropic/..., openai/..., ollama/..., or an OpenAI-compatible api_base)."""

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
        semaphore: asyncio.Semaphore | None = None,
        extra: Mapping[str, Any] | None = None,
        prompt_caching: bool = True,
    ) -> None:
        super().__init__(model, ledger)
        self._prompt_caching = prompt_caching
        self._api_base = api_base
        self._api_key = api_key
        self._temperature = temperature
        self._max_tokens = max_tokens
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._semaphore = semaphore or asyncio.Semaphore(8)
        self._extra = dict(extra or {})

    # ---- request building -------------------------------------------------
    def _messages(self, messages: Sequence[LLMMessage]) -> list[dict[str, Any]]:
        out = to_openai_messages(messages)
        return mark_stable_prefix(out) if self._prompt_caching and supports_cache_control(self.model) else out

    def _kwargs(
        self,
        messages: Sequence[LLMMessage],
        tools: Sequence[Tool | ToolSchema],
        tool_choice: Tool | Literal["auto", "required", "none"],
        json_output: bool | type[BaseModel] | None,
        extra_create_args: Mapping[str, Any],
    ) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "model": self.model,
            "messages": self._messages(messages),
            "timeout": self._timeout_s,
            "num_retries": 0,
            "max_retries": 0,
        }
        if self._api_base:
            kw["api_base"] = self._api_base
        if self._api_key:
            kw["api_key"] = self._api_key
        if self._temperature is not None:
            kw["temperature"] = self._temperature
        if self._max_tokens is not None:
            kw["max_tokens"] = self._max_tokens
        if tools:
            kw["tools"] = to_openai_tools(tools)
            if isinstance(tool_choice, Tool):
                kw["tool_choice"] = {"type": "function", "function": {"name": tool_choice.name}}
            else:
                kw["tool_choice"] = tool_choice
        fmt = response_format(json_output)
        if fmt is not None:
            kw["response_format"] = fmt
        kw.update(self._extra)
        kw.update(extra_create_args)
        return kw

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        try:
            p, c = _litellm().cost_per_token(
                model=self.model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            )
            return float(p + c)
        except Exception:
            return 0.0  # model not in the cost map (local/self-hosted): tokens are still recorded

    def _backoff(self, attempt: int) -> float:
        delay: float = min(self._backoff_max_s, self._backoff_base_s * 2 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)

    def _succeeded(self, pt: int, ct: int, latency: float, attempt: int, cached: int = 0) -> RequestUsage:
        """Account and record one successful call."""
        usage = RequestUsage(prompt_tokens=pt, completion_tokens=ct)
        self._account(usage)
        self._ledger.record(
            CallRecord(
                model=self.model,
                prompt_tokens=pt,
                completion_tokens=ct,
                cost_usd=self._cost(pt, ct),
                latency_s=latency,
                attempt=attempt,
                cached_tokens=cached,
            )
        )
        return usage

    async def _retry_or_raise(self, exc: Exception, attempt: int, started: float, *, may_retry: bool = True) -> None:
        """Record a failed attempt, then wait before the next one, or raise ModelCallError if it was the last."""
        self._fail(attempt, started, exc)
        if may_retry and is_transient(exc) and attempt <= self._max_retries:
            await asyncio.sleep(self._backoff(attempt))
            return
        raise ModelCallError(f"{self.model}: {type(exc).__name__}: {exc}") from exc

    def _fail(self, attempt: int, started: float, exc: BaseException) -> None:
        self._ledger.record(
            CallRecord(
                model=self.model,
                prompt_tokens=0,
                completion_tokens=0,
                cost_usd=0.0,
                latency_s=time.monotonic() - started,
                ok=False,
                attempt=attempt,
                error=f"{type(exc).__name__}: {str(exc)[:300]}",
            )
        )

    # ---- ChatCompletionClient --------------------------------------------
    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        kw = self._kwargs(messages, tools, tool_choice, json_output, extra_create_args)
        litellm = _litellm()
        attempt = 0
        while True:
            attempt += 1
            self._ledger.before_call()
            started = time.monotonic()
            try:
                async with self._semaphore:
                    resp = await litellm.acompletion(**kw)
            except BudgetExceeded:
                raise
            except Exception as exc:
                await self._retry_or_raise(exc, attempt, started)
                continue
            return self._result_from_response(resp, attempt, time.monotonic() - started)

    def _result_from_response(self, resp: Any, attempt: int, latency: float) -> CreateResult:
        choice = resp.choices[0]
        msg = choice.message
        usage = getattr(resp, "usage", None)
        pt = int(getattr(usage, "prompt_tokens", 0) or 0)
        ct = int(getattr(usage, "completion_tokens", 0) or 0)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", 0) or 0) if details else 0
        req_usage = self._succeeded(pt, ct, latency, attempt, cached)
        tool_calls = getattr(msg, "tool_calls", None)
        content: str | list[FunctionCall]
        if tool_calls:
            content = [
                FunctionCall(id=tc.id, name=tc.function.name, arguments=tc.function.arguments or "{}")
                for tc in tool_calls
            ]
            finish = "function_calls"
        else:
            content = msg.content or ""
            finish = _finish(choice.finish_reason)
        return CreateResult(
            finish_reason=finish,
            content=content,
            usage=req_usage,
            cached=False,
            thought=msg.content if tool_calls and msg.content else None,
        )

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        kw = self._kwargs(messages, tools, tool_choice, json_output, extra_create_args)
        kw["stream"] = True
        kw["stream_options"] = {"include_usage": True}
        litellm = _litellm()
        attempt = 0
        while True:
            attempt += 1
            self._ledger.before_call()
            started = time.monotonic()
            parts: list[str] = []
            pt = ct = 0
            finish: str | None = None
            try:
                async with self._semaphore:
                    stream = await litellm.acompletion(**kw)
                    async for chunk in stream:
                        u = getattr(chunk, "usage", None)
                        if u:
                            pt = int(getattr(u, "prompt_tokens", 0) or 0) or pt
                            ct = int(getattr(u, "completion_tokens", 0) or 0) or ct
                        if not chunk.choices:
                            continue
                        delta = chunk.choices[0].delta
                        text = getattr(delta, "content", None)
                        if chunk.choices[0].finish_reason:
                            finish = chunk.choices[0].finish_reason
                        if text:
                            parts.append(text)
                            yield text
            except BudgetExceeded:
                raise
            except Exception as exc:
                await self._retry_or_raise(exc, attempt, started, may_retry=not parts)  # never re-stream text
                continue
            text_all = "".join(parts)
            if not ct:
                ct = max(1, len(text_all) // 4)
            usage = self._succeeded(pt, ct, time.monotonic() - started, attempt)
            yield CreateResult(
                finish_reason=_finish(finish),
                content=text_all,
                usage=usage,
                cached=False,
            )
            return

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        try:
            return int(_litellm().token_counter(model=self.model, messages=to_openai_messages(messages)))
        except Exception:
            return sum(len(json.dumps(m)) for m in to_openai_messages(messages)) // 4

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        try:
            limit = int(_litellm().get_max_tokens(self.model) or 128_000)
        except Exception:
            limit = 128_000
        return limit - self.count_tokens(messages, tools=tools)


def _finish(reason: str | None) -> str:
    mapping = {
        "stop": "stop",
        "length": "length",
        "tool_calls": "function_calls",
        "content_filter": "content_filter",
    }
    return mapping.get(reason or "stop", "unknown")
