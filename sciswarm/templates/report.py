"""The result of checking a template: one Check per rule, plus what the baseline produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sciswarm.templates.contract import Template

CheckStatus = Literal["pass", "fail", "warn", "skip"]


@dataclass
class Check:
    name: str
    status: CheckStatus
    detail: str = ""


@dataclass
class TemplateReport:
    path: Path
    checks: list[Check] = field(default_factory=list)
    template: Template | None = None
    final_info: dict[str, dict[str, float]] | None = None
    figures: list[str] = field(default_factory=list)
    baseline_wall_s: float | None = None
    plot_wall_s: float | None = None

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    @property
    def errors(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if c.status == "warn"]

    def add(self, name: str, status: CheckStatus, detail: str = "") -> bool:
        self.checks.append(Check(name, status, detail))
        return status != "fail"
