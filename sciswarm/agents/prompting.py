"""Prompts are data: one YAML file per role (key -> Jinja template), rendered with StrictUndefined."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import yaml

PROMPTS_DIR = Path(__file__).parent / "prompts"


class Prompts:
    def __init__(self, templates: dict[str, Any], source: str = "") -> None:
        self._env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
        self._templates = templates
        self.source = source

    @classmethod
    def load(cls, role: str, extra_dirs: list[Path] | None = None) -> Prompts:
        """Built-in prompts for `role`, overlaid by `<dir>/<role>.yaml` from extra_dirs."""
        templates: dict[str, Any] = {}
        sources = []
        for folder in [PROMPTS_DIR, *(extra_dirs or [])]:
            f = folder / f"{role}.yaml"
            if f.exists():
                data = yaml.safe_load(f.read_text()) or {}
                if not isinstance(data, dict):
                    raise ValueError(f"{f}: prompts file must map names to templates")
                templates.update({str(k): v for k, v in data.items()})
                sources.append(str(f))
        return cls(templates, source=", ".join(sources))

    def has(self, key: str) -> bool:
        return key in self._templates

    def render(self, key: str, **variables: Any) -> str:
        if key not in self._templates:
            raise KeyError(f"no prompt '{key}' (from {self.source or 'no prompt files'})")
        return self._env.from_string(str(self._templates[key])).render(**variables).strip()

    def data(self, key: str) -> Any:
        """A structured (non-template) entry, e.g. a mapping of tips."""
        return self._templates.get(key)
