"""The errors a broken template raises, and how a JSON value is named in their messages."""

from __future__ import annotations

from typing import Any

from sciswarm.errors import ExpectedFailure


class TemplateError(ExpectedFailure, ValueError):
    """A template breaks the contract; the message says what and where."""


class FinalInfoError(TemplateError):
    """final_info.json does not have the shape {dataset: {"means": {metric: number}}}."""


def json_kind(value: Any) -> str:
    """How a JSON value is called in an error message ("an object", "a list", ...)."""
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )
