"""One transcript record -> one line of text for a human (terminal and browser share this)."""

from __future__ import annotations

import time
from typing import Any

from pydantic import ValidationError

from sciswarm.events import MESSAGE_ADAPTER, TRACE_TYPES


def summarize(record: dict[str, Any]) -> str:
    kind = str(record.get("kind", "?"))
    if isinstance(record.get("summary"), str):
        return str(record["summary"])
    model: Any = None
    try:
        if kind in TRACE_TYPES:
            model = TRACE_TYPES[kind].model_validate(record)
        else:
            model = MESSAGE_ADAPTER.validate_python(record)
    except ValidationError:
        model = None
    if model is not None and hasattr(model, "summary"):
        return str(model.summary())
    for key in ("text", "summary", "title", "reason"):
        if isinstance(record.get(key), str):
            return str(record[key])[:160]
    extra = {
        k: v for k, v in record.items() if k not in {"kind", "id", "run_id", "idea_id", "sender", "ts", "parent_id"}
    }
    return str(extra)[:160]


def clock(ts: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts or time.time()))
