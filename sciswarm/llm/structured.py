"""Structured output: how a reply's JSON schema reaches the model's server, and which subset of JSON Schema goes.

A ``models:`` entry's ``structured_output`` picks the wire form:

- ``json_schema``: OpenAI's ``response_format {"type": "json_schema", "json_schema": {"name", "schema"}}``. Hosted
  providers through LiteLLM, vLLM, llama.cpp's ``llama-server`` and LM Studio enforce it; LiteLLM turns it into
  Ollama's ``format``.
- ``json_object``: ``{"type": "json_object", "schema": {...}}``. llama-cpp-python's server enforces the schema given
  this way (it refuses ``json_schema`` with an HTTP 500); other servers at least answer JSON.
- ``off``: the schema is only described in the prompt; replies are validated and re-asked.
- ``auto`` (default): ``json_schema`` where LiteLLM's model map says the model supports it; for a model on an
  OpenAI-compatible ``api_base`` (which LiteLLM's map cannot know), probed once per server and model
  (``json_schema``, then ``json_object``: a form counts only when the reply it gets is the schema's JSON) and
  remembered for the process; else ``off``.

The schema sent is :func:`decoder_schema`: the subset grammar-based decoders (llama.cpp, vLLM's guided decoding,
Ollama) enforce: objects with ``properties``/``required``, strings, numbers, integers, booleans, ``enum``/``const``,
arrays with ``items`` and ``minItems``/``maxItems``, ``anyOf`` (pydantic's optional fields), ``minimum``/``maximum``;
``$ref``s are inlined; every property is required (as in OpenAI's strict mode: a grammar lets a model skip an
optional key, e.g. the reasoning a schema asks for first; an optional value is written as null or its default);
titles, defaults, patterns and formats are left out (pydantic still checks them).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal

StructuredMode = Literal["auto", "json_schema", "json_object", "off"]
WireMode = Literal["json_schema", "json_object", "off"]

KEPT_KEYS = {
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "const",
    "anyOf",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "additionalProperties",
    "description",
}
PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "boolean"}},
    "required": ["answer"],
    "additionalProperties": False,
}
PROBE_PROMPT = "Is the sky blue on a clear day? Answer in one short sentence."


def decoder_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (pydantic's JSON schema) in the subset grammar-based decoders enforce, ``$ref``s inlined."""
    defs: dict[str, Any] = dict(schema.get("$defs") or schema.get("definitions") or {})

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(n, seen) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name in seen or name not in defs:
                raise ValueError(f"schema reference {ref} cannot be inlined (recursive or missing)")
            merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
            return walk(merged, (*seen, name))
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key not in KEPT_KEYS:
                continue
            if key == "properties":
                out[key] = {name: walk(sub, seen) for name, sub in value.items()}
            elif key in ("items", "anyOf", "additionalProperties"):
                out[key] = walk(value, seen)
            else:
                out[key] = value
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
            out["required"] = list(out["properties"])  # a decoder may skip an optional key: every key is written
        return out

    return walk({k: v for k, v in schema.items() if k not in ("$defs", "definitions")}, ())


def response_format(mode: WireMode, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``response_format`` of a request in ``mode`` (None: nothing is sent)."""
    if mode == "json_schema":
        name = str(schema.get("title") or "reply")
        return {"type": "json_schema", "json_schema": {"name": name, "schema": decoder_schema(schema)}}
    if mode == "json_object":
        return {"type": "json_object", "schema": decoder_schema(schema)}
    return None


def probe_answer_ok(text: str) -> bool:
    """Whether a probe's reply is the probe schema's JSON (so the server enforced it)."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        return False
    return isinstance(value, dict) and set(value) == {"answer"} and isinstance(value["answer"], bool)


Send = Callable[[dict[str, Any]], Awaitable[str]]  # one completion with this response_format -> its text


async def probe(send: Send) -> tuple[WireMode, str]:
    """The first wire form the server enforces (``json_schema``, then ``json_object``), else ``off``; with why."""
    why: list[str] = []
    for mode in ("json_schema", "json_object"):
        fmt = response_format(mode, {"title": "probe", **PROBE_SCHEMA})
        assert fmt is not None
        try:
            text = await send(fmt)
        except Exception as exc:  # the server refused this form (e.g. llama-cpp-python: HTTP 500 on json_schema)
            why.append(f"{mode} refused ({type(exc).__name__}: {str(exc)[:120]})")
            continue
        if probe_answer_ok(text):
            return mode, "; ".join([*why, f"{mode} enforced"])
        why.append(f"{mode} accepted but not enforced (reply {text[:60]!r})")
    return "off", "; ".join(why)


class ProbeCache:
    """What each server and model was found to enforce, for the process (probed once, then remembered)."""

    def __init__(self) -> None:
        self.modes: dict[tuple[str, str], tuple[WireMode, str]] = {}

    def get(self, model: str, api_base: str) -> tuple[WireMode, str] | None:
        return self.modes.get((model, api_base.rstrip("/")))

    def put(self, model: str, api_base: str, found: tuple[WireMode, str]) -> None:
        self.modes[(model, api_base.rstrip("/"))] = found


PROBED = ProbeCache()
