"""Preflight: what a run will need, checked when it starts, before any role runs and any token is spent.

Presence and reachability only (no image is built, nothing is installed), each check only for what the swarm's
roles will use:

- models: the key LiteLLM looks for when a model names no ``api_key_env`` (those that do are checked when the
  runner is made: ``run/models.check_api_keys``); a model with an ``api_base`` (llama.cpp, Ollama, vLLM, ...)
  must answer ``GET {api_base}/models`` with any HTTP status;
- experiments (a coder or experimenter): ``executor.kind: ray``: Ray installed and something listening at the
  cluster's address; else an explicit ``sandbox.provider: docker`` needs an engine that answers and the
  experiment image, ``bwrap`` a usable bubblewrap (``auto`` falls back docker -> bwrap -> local: never a failure);
- the paper (a writer): ``pdflatex`` and ``bibtex``;
- the literature (a novelty critic or writer, ``engine`` not none): the seed cache file, a folder for the cache,
  and something to answer from when ``cache_only``. The engines are not called: offline, a search degrades.

``preflight`` returns one line per problem; the runner ends the run ``failed`` with them (``runner.py``).
"""

from __future__ import annotations

import os
import shutil
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable
from importlib.util import find_spec
from pathlib import Path

from sciswarm.agents.registry import BUILTIN
from sciswarm.run.config import SwarmConfig
from sciswarm.run.roles import ResolvedRole
from sciswarm.sandboxes.ray_config import ExecutorConfig

TIMEOUT_S = 3.0
RUNS_EXPERIMENTS = {BUILTIN["coder"], BUILTIN["experimenter"]}
WRITES_PAPERS = {BUILTIN["writer"]}
SEARCHES_LITERATURE = {BUILTIN["novelty_critic"], BUILTIN["writer"]}


def preflight(cfg: SwarmConfig, roles: list[ResolvedRole]) -> list[str]:
    """What this run needs and lacks, one line each ([] when all is there)."""
    problems = model_problems(cfg)
    if _any_role(roles, RUNS_EXPERIMENTS):
        problems += ray_problems(cfg.executor) if cfg.executor.kind == "ray" else sandbox_problems(cfg)
    if _any_role(roles, WRITES_PAPERS):
        problems += [f"the writer needs {tool} (install texlive: scripts/setup.sh)" for tool in missing_tex_tools()]
    if _any_role(roles, SEARCHES_LITERATURE) and cfg.literature.engine != "none":
        problems += literature_problems(cfg)
    return problems


def _any_role(roles: list[ResolvedRole], paths: set[str]) -> bool:
    """Is one of the roles (or a subclass of one) among the built-in roles at ``paths``?"""
    return any(f"{c.__module__}:{c.__qualname__}" in paths for rr in roles for c in rr.cls.__mro__)


# ---- models -------------------------------------------------------------------------------------
def _litellm_models(cfg: SwarmConfig) -> Iterable[tuple[str, str, str | None, str | None]]:
    """(where in the YAML, model string, api_base, api_key_env) of every model a client is built for."""
    for name, spec in cfg.models.items():
        if spec.model != "scripted":
            yield f"models.{name}", spec.model, spec.api_base, spec.api_key_env
    if cfg.vision_model and cfg.vision_model not in cfg.models:
        yield "vision_model", cfg.vision_model, None, None


def model_problems(cfg: SwarmConfig) -> list[str]:
    problems = []
    for where, model, api_base, key_env in _litellm_models(cfg):
        if api_base:
            why = server_silence(api_base)
            if why:
                problems.append(f"{where} ({model}): the server at {api_base} does not answer ({why})")
        elif not key_env:
            missing = missing_provider_keys(model)
            if missing:
                name = f"{where}.api_key_env" if where != "vision_model" else "api_key_env in a models: entry"
                problems.append(f"{where} ({model}): {' and '.join(missing)} is not set (export it, or name {name})")
    return problems


def missing_provider_keys(model: str) -> list[str]:
    """The API key variables LiteLLM reads ``model``'s key from that are not set (``*_API_KEY`` only: other
    settings it lists, such as AWS credentials, a Vertex project or OLLAMA_API_BASE, have other sources)."""
    from sciswarm.llm.litellm_client import litellm_module

    found = litellm_module().validate_environment(model=model)
    return [str(key) for key in found.get("missing_keys") or [] if str(key).endswith("_API_KEY")]


def server_silence(api_base: str) -> str:
    """Why nothing answers ``GET {api_base}/models`` ("" when any HTTP answer comes, an error status too)."""
    try:
        with urllib.request.urlopen(api_base.rstrip("/") + "/models", timeout=TIMEOUT_S):
            return ""
    except urllib.error.HTTPError:
        return ""
    except urllib.error.URLError as exc:
        return _reason(exc.reason)
    except OSError as exc:
        return _reason(exc)
    except ValueError as exc:
        return f"not a URL: {exc}"


def _reason(exc: object) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT_S:.0f} s"
    return str(getattr(exc, "strerror", None) or exc)


# ---- where experiments run ------------------------------------------------------------------------
def ray_problems(executor: ExecutorConfig) -> list[str]:
    if find_spec("ray") is None:
        return ["executor.kind=ray needs Ray: pip install 'sciswarm[ray]'"]
    if executor.address == "local":  # started here by the run
        return []
    where = f"executor.address={executor.address}"
    target, why = _ray_target(executor.address)
    host, sep, port = target.rpartition(":")
    if why or not sep or not port.isdigit():
        return [f"{where}: {why or f'{target!r} is not HOST:PORT'}"]
    why = unreachable(host.strip("[]"), int(port))
    if why:
        return [f"{where}: no Ray cluster answers at {target} ({why}); start one (ray start --head) or use local"]
    return []


def _ray_target(address: str) -> tuple[str, str]:
    """(HOST:PORT of the cluster ``address`` means, ``auto`` as Ray finds it; why there is none)."""
    if address == "auto":
        address = os.environ.get("RAY_ADDRESS") or address
    if address != "auto":
        return address.removeprefix("ray://"), ""
    from ray._private.services import canonicalize_bootstrap_address

    try:
        return canonicalize_bootstrap_address("auto") or "", ""
    except (ConnectionError, ValueError) as exc:
        return "", f"no running Ray cluster found ({exc})"


def unreachable(host: str, port: int) -> str:
    """Why a TCP connection to host:port fails ("" when it opens)."""
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S):
            return ""
    except OSError as exc:
        return _reason(exc)


def sandbox_problems(cfg: SwarmConfig) -> list[str]:
    """An explicit provider that cannot run here (``auto`` and ``local`` always find one)."""
    provider, image = cfg.sandbox.provider, cfg.sandbox.image
    if provider == "docker":
        from sciswarm.sandboxes.factory import docker_available
        from sciswarm.sandboxes.image import image_present

        if not docker_available(TIMEOUT_S):
            where = f" at DOCKER_HOST={os.environ['DOCKER_HOST']}" if os.environ.get("DOCKER_HOST") else ""
            return [
                f"sandbox.provider=docker: no Docker engine answers{where} (run scripts/ensure_docker.sh or start "
                "dockerd, or use sandbox.provider=auto)"
            ]
        if not image_present(image):
            return [f"sandbox.provider=docker: the experiment image {image} is missing (sciswarm sandbox build)"]
    if provider == "bwrap":
        from sciswarm.sandboxes.bwrap import bwrap_available

        ok, why = bwrap_available()
        if not ok:
            return [f"sandbox.provider=bwrap: {why}"]
    return []


# ---- the paper and the literature ---------------------------------------------------------------------
def missing_tex_tools() -> list[str]:
    return [tool for tool in ("pdflatex", "bibtex") if shutil.which(tool) is None]


def literature_problems(cfg: SwarmConfig) -> list[str]:
    lit, problems = cfg.literature, []
    seed = cfg.path(lit.seed_cache_json) if lit.seed_cache_json else None
    cache = cfg.path(lit.cache_path) if lit.cache_path else None
    if seed is not None and not seed.is_file():
        problems.append(f"literature.seed_cache_json: no file {seed}")
    if cache is not None and not cache.exists() and not _can_create(cache):
        problems.append(f"literature.cache_path: cannot create {cache} (its folder is not writable)")
    if lit.cache_only and seed is None and (cache is None or not cache.is_file()):
        where = f"no cache at {cache}" if cache else "cache_path is null"
        problems.append(f"literature.cache_only: nothing to answer from ({where} and no seed_cache_json)")
    return problems


def _can_create(path: Path) -> bool:
    """Can this process create ``path`` (its nearest existing folder is writable)?"""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
