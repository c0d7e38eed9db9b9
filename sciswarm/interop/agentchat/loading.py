"""What the YAML names by import path: tools ('package.module:function', wrapped as AgentChat FunctionTools)
and agent factories ('package.module:factory', called with the keyword arguments they accept)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from autogen_core.tools import BaseTool, FunctionTool

from sciswarm.agents.registry import import_object


def load(target: str) -> Any:
    """The object at 'package.module:name' (ValueError saying what is wrong otherwise)."""
    return import_object(target)


def load_tool(target: str) -> BaseTool[Any, Any]:
    """An AgentChat tool: a tool object as is, a function wrapped (its docstring is the description)."""
    obj = load(target)
    if isinstance(obj, BaseTool):
        return obj
    if not callable(obj):
        raise ValueError(f"'{target}' is neither a function nor an AutoGen tool")
    return FunctionTool(obj, description=inspect.getdoc(obj) or obj.__name__, name=obj.__name__)


def load_factory(target: str) -> Callable[..., Any]:
    obj = load(target)
    if not callable(obj):
        raise ValueError(f"'{target}' is not callable (an agent factory is a function or class)")
    return obj


def call_with_accepted(factory: Callable[..., Any], offered: dict[str, Any], extra: dict[str, Any]) -> Any:
    """``factory(**offered, **extra)``, offering only the keyword arguments its signature accepts (``extra``,
    from the YAML, is always passed and wins)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # no signature (some builtins): offer everything
        return factory(**{**offered, **extra})
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        offered = {k: v for k, v in offered.items() if k in params}
    return factory(**{**offered, **extra})


def accepts(factory: Callable[..., Any], name: str) -> bool:
    """Whether ``factory`` takes a keyword argument ``name`` (or any, through ``**kwargs``)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
