"""The swarm YAML file -> a validated pydantic model, with `-o key.path=value` overrides.

Relative paths in the file (template, scripted replies, literature cache) are resolved
against the folder of the YAML file; `runs_dir` is relative to the working directory.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sciswarm.ledger import Budget
from sciswarm.literature.config import LiteratureConfig
from sciswarm.llm.providers import ProviderLimits, provider_of, provider_problems
from sciswarm.sandboxes.config import SandboxConfig
from sciswarm.sandboxes.ray_config import ExecutorConfig


class ConfigError(ValueError):
    """A config problem, worded for the person who wrote the file."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(Strict):
    model: str = Field(description="LiteLLM model string, e.g. anthropic/claude-sonnet-4-5, or 'scripted'")
    script: str | None = Field(default=None, description="scripted replies YAML (model: scripted)")
    api_base: str | None = None
    api_key_env: str | None = Field(default=None, description="env var holding the API key")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    backoff_base_s: float = Field(default=1.0, ge=0)
    prompt_caching: bool = Field(default=True, description="mark the stable prompt prefix for provider caching")
    structured_output: Literal["auto", "json_schema", "json_object", "off"] = Field(
        default="auto",
        description="how a reply's JSON schema is sent: json_schema (OpenAI's response_format; vLLM, llama-server, "
        "LM Studio, Ollama via LiteLLM), json_object (with the schema: llama-cpp-python's server), off (prompt only); "
        "auto: what LiteLLM knows of the model, else probed once on an api_base server",
    )
    context_window: int | None = Field(
        default=None,
        ge=256,
        description="the model's context length in tokens (the server's, for a local model); longer prompts are "
        "trimmed or refused; default: LiteLLM's map, else unchecked",
    )

    @model_validator(mode="after")
    def _scripted_needs_script(self) -> ModelSpec:
        if self.model == "scripted" and not self.script:
            raise ValueError("a scripted model needs 'script: <replies.yaml>'")
        return self


class RoleSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", description="the role's name on the bus (sender)")
    use: str | None = Field(
        default=None, description="built-in role, entry point name, or 'package.module:Class'; default: name"
    )
    model: str = "default"
    subscribes: list[str] | None = None
    publishes: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class FlowConfig(Strict):
    max_messages: int = Field(default=2000, ge=1)
    max_ideas: int = Field(default=10, ge=1)
    timeout_s: float | None = Field(default=None, gt=0, description="wall-time limit of the whole run")
    model_concurrency: int = Field(default=4, ge=1)
    proceed_on_unknown_novelty: bool = True
    seeds: int = Field(default=1, ge=1, le=20, description="repeat every run (and the baseline) with N seeds")


class SwarmConfig(Strict):
    name: str = "swarm"
    description: str = ""
    template: str | None = None
    runs_dir: str = "runs"
    data_dir: str | None = Field(
        default=None,
        description="where the template's data step caches its prepared data (default: <runs_dir>/.data); "
        "relative to the working directory, like runs_dir",
    )
    models: dict[str, ModelSpec]
    vision_model: str | None = Field(
        default=None,
        min_length=1,
        description="the model that looks at figures: a name under models: or a LiteLLM model string; "
        "default: the role's own model",
    )
    providers: dict[str, ProviderLimits] = Field(
        default_factory=dict,
        description="bounds per provider (anthropic, openai, ... or prefix@api_base): max_concurrency, rpm",
    )
    roles: list[RoleSpec] = Field(min_length=1)
    flow: FlowConfig = Field(default_factory=FlowConfig)
    budget: Budget = Field(default_factory=Budget)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    literature: LiteratureConfig = Field(default_factory=LiteratureConfig)
    profiles: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="named sets of overrides (dotted key -> value), chosen with profile: NAME (or -o profile=NAME)",
    )
    profile: str | list[str] | None = Field(default=None, description="the profile(s) applied when loading")
    base_dir: str = Field(default=".", description="set by the loader: folder of the YAML file")

    @field_validator("models", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({"model": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> SwarmConfig:
        names = [r.name for r in self.roles]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"role names must be unique; repeated: {', '.join(dupes)}")
        if self.vision_model == "scripted" and "scripted" not in self.models:
            raise ValueError("vision_model: a scripted model needs a models: entry with a script; name that entry")
        return self

    def model_problems(self) -> list[str]:
        defined = ", ".join(sorted(self.models)) or "none"
        return [
            f"  - roles[{i}] ({r.name}).model: no model named '{r.model}' (models defines: {defined})"
            for i, r in enumerate(self.roles)
            if r.model not in self.models
        ] + (provider_problems(self.providers, self.model_providers()) if self.providers else [])

    def model_providers(self) -> set[str]:
        """The providers the swarm's models call (what `providers:` may bound)."""
        used = {provider_of(m.model, m.api_base) for m in self.models.values() if m.model != "scripted"}
        if self.vision_model and self.vision_model not in self.models:
            used.add(provider_of(self.vision_model))
        return used

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (Path(self.base_dir) / p).resolve()

    def role(self, name: str) -> RoleSpec:
        for r in self.roles:
            if r.name == name:
                return r
        raise KeyError(name)


def _format_loc(loc: tuple[int | str, ...], data: Any) -> str:
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node) and isinstance(node[item], dict):
                name = node[item].get("name")
                if name:
                    label = f"[{item}] ({name})"
            parts.append(label)
            node = node[item] if isinstance(node, list) and item < len(node) else None
        else:
            if item in {"function-after[_scripted_needs_script()]"} or item.startswith("function-"):
                continue
            parts.append(("." if parts else "") + item)
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def format_validation_error(source: str, exc: ValidationError, data: Any) -> str:
    lines = [f"{source}: invalid swarm config ({exc.error_count()} problem(s)):"]
    for err in exc.errors():
        loc = _format_loc(tuple(err["loc"]), data)
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = ""
        if err["type"] not in {"missing", "value_error"} and not isinstance(got, dict | list):
            shown = f" (got {got!r})"
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"  - {loc}: {msg}{shown}")
    return "\n".join(lines)


def parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like key.path=value")
    key, raw = text.split("=", 1)
    if not key.strip():
        raise ConfigError(f"override '{text}' has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_override(data: dict[str, Any], path: list[str], value: Any) -> None:
    """Set data[path] = value; list items are addressed by index or by their `name`."""
    node: Any = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        where = ".".join(path[: i + 1])
        if isinstance(node, list):
            idx = _list_index(node, part, where)
            if last:
                node[idx] = value
                return
            node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                return
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        else:
            raise ConfigError(f"override {'.'.join(path)}: '{where}' is not a mapping or list")


def _list_index(items: list[Any], part: str, where: str) -> int:
    if part.isdigit():
        if int(part) >= len(items):
            raise ConfigError(f"override: index {where} is out of range ({len(items)} items)")
        return int(part)
    for idx, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return idx
    raise ConfigError(f"override: no list item named '{part}' at '{where}'")


def apply_profiles(data: dict[str, Any], source: str) -> None:
    """Apply the chosen profile(s) of ``profiles:`` (each a mapping of dotted key -> value, like ``-o``) in order."""
    profiles = data.get("profiles") or {}
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(f"{source}: profiles must map each profile name to a mapping of key.path: value")
    chosen = data["profile"]
    names = [chosen] if isinstance(chosen, str) else chosen
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{source}: profile must be a profile name or a list of names (got {chosen!r})")
    for name in names:
        if name not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(f"{source}: profile '{name}' is not defined (profiles: {known})")
        for key, value in profiles[name].items():
            if not isinstance(key, str) or not key.strip():
                raise ConfigError(f"{source}: profiles.{name}: keys must be dotted paths like roles.coder.params.x")
            try:
                apply_override(data, key.strip().split("."), copy.deepcopy(value))
            except ConfigError as exc:
                raise ConfigError(f"{source}: profiles.{name}: {exc}") from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> SwarmConfig:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a YAML mapping at the top level, got {type(data).__name__}")
    parsed = [parse_override(text_override) for text_override in overrides or []]
    for keys, value in parsed:
        apply_override(data, keys, value)
    if data.get("profile"):
        apply_profiles(data, str(path))
        for keys, value in parsed:  # the command line wins over the profile
            apply_override(data, keys, value)
    data["base_dir"] = str(path.resolve().parent)
    try:
        cfg = SwarmConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc, data)) from exc
    problems = cfg.model_problems()
    if problems:
        raise ConfigError(f"{path}: invalid swarm config ({len(problems)} problem(s)):\n" + "\n".join(problems))
    return cfg
