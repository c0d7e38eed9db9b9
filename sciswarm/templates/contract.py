"""The template contract as data: required files, the prompt and seed-idea schemas, a loaded Template."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sciswarm.templates.errors import TemplateError, json_kind

REQUIRED_FILES = ("experiment.py", "plot.py", "prompt.json", "seed_ideas.json", "latex/template.tex")

Score = Annotated[int, Field(ge=1, le=10, strict=True)]


class IdeaSpec(BaseModel):
    """One research idea, as in The AI Scientist's seed_ideas.json (extra keys are kept)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    Name: str = Field(min_length=1)
    Title: str = Field(min_length=1)
    Experiment: str = Field(min_length=1)
    Interestingness: Score
    Feasibility: Score
    Novelty: Score


class TemplatePrompt(BaseModel):
    model_config = ConfigDict(extra="allow")

    system: str = Field(min_length=1)
    task_description: str = Field(min_length=1)


@dataclass(frozen=True)
class Template:
    name: str
    root: Path
    prompt: TemplatePrompt
    seed_ideas: list[IdeaSpec]
    bibliography: list[Path]  # .bib files beside the .tex; empty when the bibliography is inside the .tex
    extra_files: list[str]  # helpers carried into the workspace, relative to root

    @property
    def experiment(self) -> Path:
        return self.root / "experiment.py"

    @property
    def plot(self) -> Path:
        return self.root / "plot.py"

    @property
    def latex_dir(self) -> Path:
        return self.root / "latex"

    @property
    def latex_template(self) -> Path:
        return self.root / "latex" / "template.tex"


def _pydantic_problems(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def read_json(path: Path) -> Any:
    """A template's JSON file; TemplateError when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(f"{path.name} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TemplateError(f"{path.name} is not valid JSON: {e}") from None


def parse_prompt(data: Any) -> TemplatePrompt:
    if not isinstance(data, dict):
        raise TemplateError(f"prompt.json must be an object with keys system, task_description; got {json_kind(data)}")
    try:
        return TemplatePrompt.model_validate(data)
    except ValidationError as e:
        raise TemplateError(f"prompt.json: {_pydantic_problems(e)}") from None


def parse_seed_ideas(data: Any) -> list[IdeaSpec]:
    if not isinstance(data, list):
        raise TemplateError(f"seed_ideas.json must be a list of ideas; got {json_kind(data)}")
    ideas, problems = [], []
    for i, item in enumerate(data):
        label = f"idea {i}" + (f" ({item.get('Name')!r})" if isinstance(item, dict) and item.get("Name") else "")
        if not isinstance(item, dict):
            problems.append(f"{label}: must be an object, got {json_kind(item)}")
            continue
        try:
            ideas.append(IdeaSpec.model_validate(item))
        except ValidationError as e:
            problems.append(f"{label}: {_pydantic_problems(e)}")
    if problems:
        raise TemplateError("seed_ideas.json: " + " | ".join(problems))
    return ideas
