"""The roles of a swarm YAML, resolved: each class imported, its params validated by its own model."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from sciswarm.agents.base import Role
from sciswarm.agents.registry import RoleNotFound, resolve
from sciswarm.run.config import ConfigError, RoleSpec, SwarmConfig


@dataclass
class ResolvedRole:
    spec: RoleSpec
    cls: type[Role]
    params: Any
    subscribes: list[str]
    publishes: list[str] | None

    @property
    def class_path(self) -> str:
        return f"{self.cls.__module__}:{self.cls.__qualname__}"


def resolve_roles(cfg: SwarmConfig, source: str = "config") -> list[ResolvedRole]:
    """Import every role class and validate its params with the role's own model."""
    from pydantic import ValidationError

    if cfg.base_dir not in sys.path:
        sys.path.insert(0, cfg.base_dir)  # roles kept beside the YAML file are importable
    resolved = []
    problems = []
    for i, spec in enumerate(cfg.roles):
        if not spec.enabled:
            continue
        where = f"roles[{i}] ({spec.name})"
        try:
            cls = resolve(spec.use or spec.name)
        except RoleNotFound as exc:
            problems.append(f"  - {where}.use: {exc}")
            continue
        try:
            params = cls.Params.model_validate(spec.params)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(f"  - {where}.params.{loc}: {err['msg']}")
            continue
        for field in cls.model_params:
            names = getattr(params, field, None) or []
            for name in [names] if isinstance(names, str) else names:
                if name not in cfg.models:
                    defined = ", ".join(sorted(cfg.models))
                    problems.append(f"  - {where}.params.{field}: no model named '{name}' (models defines: {defined})")
        subscribes = list(spec.subscribes if spec.subscribes is not None else cls.subscribes)
        publishes = spec.publishes if spec.publishes is not None else (list(cls.publishes) or None)
        resolved.append(ResolvedRole(spec, cls, params, subscribes, publishes))
    if problems:
        raise ConfigError(f"{source}: invalid roles:\n" + "\n".join(problems))
    return resolved
