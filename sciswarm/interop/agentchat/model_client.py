"""AutoGen ``ChatCompletionClient``s for AgentChat agents: LiteLLM with tool calls and streaming, metered
through the run's Ledger, and ``chat_client`` that picks it (or the text-only client) for a role's model.

Every attempt is one ledger record under the client's call context (role, idea, stage), so an agent's model
calls appear in the transcript as ``model_call`` records of its role, with tokens and cost; budgets apply.
Every request goes through the provider's gate it shares with the role's own client (``llm/gate.py``:
concurrency, requests per minute, a 429 pausing every caller). Transient errors are retried with bounded,
jittered backoff; a failure for good is a ``ModelCallError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Literal

from autogen_core import CancellationToken, FunctionCall
from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from sciswarm.interop.agentchat.base import ChatClientBase, calling_as
from sciswarm.interop.agentchat.messages import (
    finish_reason,
    response_format,
    to_openai,
    to_openai_tools,
    tool_choice_arg,
)
from sciswarm.interop.agentchat.text_client import TextChatClient
from sciswarm.ledger import CallContext, Ledger
from sciswarm.llm import LiteLLMClient, ModelCallError, ModelHandle, ProviderGate, Usage, count_tokens
from sciswarm.llm.litellm_client import (
    check_guards,
    cost_usd,
    default_gate,
    litellm_module,
    mark_stable_prefix,
    retry_after_failure,
    supports_cache_control,
    usage_of,
)
from sciswarm.llm.metered import Metered

ToolChoice = Tool | Literal["auto", "required", "none"]


def _call(raw: Any) -> FunctionCall:
    return FunctionCall(id=raw.id, name=raw.function.name, arguments=raw.function.arguments or "{}")


class LiteLLMChatClient(Metered, ChatClientBase):
    """Any LiteLLM model string behind AutoGen's interface; ``from_client`` copies a sciswarm LiteLLMClient."""

    function_calling = True
    structured_output = True

    def __init__(
        self,
        model: str,
        *,
        ledger: Ledger | None = None,
        context: CallContext | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 30.0,
        gate: ProviderGate | None = None,
        prompt_caching: bool = True,
        vision: bool = False,
    ) -> None:
        Metered.__init__(self, model, ledger)
        ChatClientBase.__init__(self, context=context, vision=vision)
        self.model = model
        self._settings: dict[str, Any] = {"api_base": api_base, "api_key": api_key, "max_tokens": max_tokens}
        self._settings["temperature"] = temperature
        self._timeout_s, self._max_retries = timeout_s, max_retries
        self._backoff_base_s, self._backoff_max_s = backoff_base_s, backoff_max_s
        self._gate = gate or default_gate(model, api_base)
        self._prompt_caching = prompt_caching

    @classmethod
    def from_client(
        cls,
        client: LiteLLMClient,
        *,
        ledger: Ledger | None = None,
        context: CallContext | None = None,
        temperature: float | None = None,
    ) -> LiteLLMChatClient:
        """The same model, endpoint, key, limits and provider gate as ``client``."""
        return cls(
            client.model,
            ledger=ledger or client.ledger,
            context=context,
            api_base=client.api_base,
            api_key=client.api_key,
            temperature=client.temperature if temperature is None else temperature,
            max_tokens=client.max_tokens,
            timeout_s=client.timeout_s,
            max_retries=client.max_retries,
            backoff_base_s=client.backoff_base_s,
            backoff_max_s=client.backoff_max_s,
            gate=client.gate,
            prompt_caching=client.prompt_caching,
            vision=client.vision,
        )

    @property
    def gate(self) -> ProviderGate:
        """The provider's gate, shared with the sciswarm client this one was made from."""
        return self._gate

    # ---- one request ---------------------------------------------------------------------------------
    def request(
        self,
        messages: Sequence[LLMMessage],
        tools: Sequence[Tool | ToolSchema],
        tool_choice: ToolChoice,
        json_output: bool | type[BaseModel] | None,
        extra_create_args: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The keyword arguments of litellm.acompletion for one call."""
        body = to_openai(messages)
        if self._prompt_caching and supports_cache_control(self.model):
            body = mark_stable_prefix(body)
        kw: dict[str, Any] = {"model": self.model, "messages": body, "timeout": self._timeout_s}
        kw.update(num_retries=0, max_retries=0)
        kw.update({k: v for k, v in self._settings.items() if v is not None})
        if tools:
            kw.update(tools=to_openai_tools(tools), tool_choice=tool_choice_arg(tool_choice))
        fmt = response_format(json_output)
        if fmt is not None:
            kw["response_format"] = fmt
        kw.update(extra_create_args)
        return kw

    def _start(self) -> float:
        """Budget check (raises BudgetExceeded) and the start time of one attempt."""
        check_guards(self.model, self._settings["api_base"])  # the test kit's live-call guard, as everywhere
        with calling_as(self.context):
            return self._before()

    def _done(self, usage: Usage, started: float, attempt: int) -> None:
        with calling_as(self.context):
            self._succeeded(usage, started, attempt=attempt, cost_usd=cost_usd(self.model, usage))
        self._account(usage)

    async def _after_failure(self, exc: Exception, started: float, attempt: int, *, may_retry: bool = True) -> None:
        """Record the failed attempt; wait before the next one, or raise ModelCallError after the last."""
        with calling_as(self.context):
            self._failed(exc, started, attempt=attempt)
        retries = self._max_retries if may_retry else 0
        again = await retry_after_failure(
            exc, attempt, self._gate, retries=retries, base_s=self._backoff_base_s, max_s=self._backoff_max_s
        )
        if again:
            return
        raise ModelCallError(f"{self.model}: {type(exc).__name__}: {exc}") from exc

    async def _send(self, kw: dict[str, Any], cancellation_token: CancellationToken | None) -> Any:
        call = asyncio.ensure_future(litellm_module().acompletion(**kw))
        if cancellation_token is not None:
            cancellation_token.link_future(call)
        return await call

    # ---- ChatCompletionClient ------------------------------------------------------------------------
    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: ToolChoice = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        kw = self.request(messages, tools, tool_choice, json_output, extra_create_args)
        attempt = 0
        while True:
            attempt += 1
            failure: Exception | None = None
            async with self._gate.turn():
                started = self._start()
                try:
                    resp = await self._send(kw, cancellation_token)
                except Exception as exc:
                    failure = exc
            if failure is not None:
                await self._after_failure(failure, started, attempt)
                continue
            usage = usage_of(getattr(resp, "usage", None))
            self._done(usage, started, attempt)
            return self._result(resp, usage)

    def _result(self, resp: Any, usage: Usage) -> CreateResult:
        choice = resp.choices[0]
        msg = choice.message
        calls = getattr(msg, "tool_calls", None)
        content: str | list[FunctionCall] = msg.content or ""
        if calls:
            content = [_call(c) for c in calls]
        return CreateResult(
            finish_reason="function_calls" if calls else finish_reason(choice.finish_reason),
            content=content,
            usage=self._actual,
            cached=False,
            thought=msg.content if calls and msg.content else None,
        )

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: ToolChoice = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """Text chunks, then the CreateResult. With tools the call is not streamed (tool calls arrive whole)."""
        if tools:
            result = await self.create(
                messages,
                tools=tools,
                tool_choice=tool_choice,
                json_output=json_output,
                extra_create_args=extra_create_args,
                cancellation_token=cancellation_token,
            )
            if isinstance(result.content, str) and result.content:
                yield result.content
            yield result
            return
        kw = self.request(messages, tools, tool_choice, json_output, extra_create_args)
        kw.update(stream=True, stream_options={"include_usage": True})
        async for item in self._stream(kw):
            yield item

    async def _stream(self, kw: dict[str, Any]) -> AsyncGenerator[str | CreateResult, None]:
        attempt = 0
        while True:
            attempt += 1
            parts: list[str] = []
            usage, finish, failure = Usage(), None, None
            async with self._gate.turn():
                started = self._start()
                try:
                    async for chunk in await litellm_module().acompletion(**kw):
                        if getattr(chunk, "usage", None):
                            usage = usage_of(chunk.usage)
                        if not chunk.choices:
                            continue
                        finish = chunk.choices[0].finish_reason or finish
                        text = getattr(chunk.choices[0].delta, "content", None)
                        if text:
                            parts.append(text)
                            yield text
                except Exception as exc:
                    failure = exc
            if failure is not None:
                await self._after_failure(failure, started, attempt, may_retry=not parts)  # never re-stream text
                continue
            text_all = "".join(parts)
            if not usage.completion_tokens:
                usage = Usage(usage.prompt_tokens, count_tokens(text_all), usage.cached_tokens)
            self._done(usage, started, attempt)
            yield CreateResult(finish_reason=finish_reason(finish), content=text_all, usage=self._actual, cached=False)
            return


def chat_client(handle: ModelHandle, *, ledger: Ledger | None = None, stage: str = "") -> ChatCompletionClient:
    """An AutoGen client for a role's model handle: LiteLLM (tool calls) when the model is one, else the
    text-only client over whatever the handle holds (a scripted or function model). Calls are accounted to
    the handle's role and idea, under ``stage``."""
    context = CallContext(role=handle.role, idea_id=handle.idea_id, stage=stage)
    if isinstance(handle.client, LiteLLMClient):
        client = handle.client
        return LiteLLMChatClient.from_client(client, ledger=ledger, context=context, temperature=handle.temperature)
    return TextChatClient(handle.client, context=context, temperature=handle.temperature)
