"""Find role classes: built-in names, the `sciswarm.roles` entry point group, or 'pkg.module:Class'."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from sciswarm.agents.base import Role

BUILTIN: dict[str, str] = {
    "ideator": "sciswarm.agents.ideator:Ideator",
    "novelty_critic": "sciswarm.agents.novelty:NoveltyCritic",
    "coder": "sciswarm.agents.coder:Coder",
    "experimenter": "sciswarm.agents.experimenter:Experimenter",
    "writer": "sciswarm.agents.writer:Writer",
    "reviewer_panel": "sciswarm.agents.reviewer:ReviewerPanel",
    "agentchat": "sciswarm.interop.agentchat.role:AgentChatRole",  # any AutoGen AgentChat agent
}
ENTRY_POINT_GROUP = "sciswarm.roles"


class RoleNotFound(LookupError):
    pass


def import_object(target: str, error: type[Exception] = ValueError, what: str = "name") -> Any:
    """The object at 'package.module:<what>'; ``error`` says what is wrong otherwise."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise error(f"'{target}' is not of the form 'package.module:{what}'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise error(f"cannot import module '{module_name}': {exc}") from exc
    obj = getattr(module, attr, None)
    if obj is None:
        raise error(f"module '{module_name}' has no attribute '{attr}'")
    return obj


def _import(target: str) -> type[Role]:
    cls = import_object(target, RoleNotFound, "Class")
    if not (isinstance(cls, type) and issubclass(cls, Role)):
        raise RoleNotFound(f"'{target}' is not a subclass of sciswarm.agents.base.Role")
    return cls


def plugged_in() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def resolve(use: str) -> type[Role]:
    if use in BUILTIN:
        return _import(BUILTIN[use])
    plugins = plugged_in()
    if use in plugins:
        return _import(plugins[use])
    if ":" in use:
        return _import(use)
    known = ", ".join(sorted(BUILTIN) + sorted(plugins))
    raise RoleNotFound(f"unknown role '{use}'. Known roles: {known}. For a custom class write 'package.module:Class'.")


def available() -> dict[str, tuple[str, str]]:
    """name -> (origin, target) for built-in and plugged-in roles."""
    out = {name: ("built-in", target) for name, target in BUILTIN.items()}
    out.update({name: ("plugin", target) for name, target in plugged_in().items()})
    return out
