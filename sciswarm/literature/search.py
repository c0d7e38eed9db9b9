"""LiteratureSearch: cache first, then Semantic Scholar, then OpenAlex; each engine retried and bounded."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from sciswarm.literature.bibtex import bibtex_for
from sciswarm.literature.breaker import Breaker
from sciswarm.literature.cache import LiteratureCache
from sciswarm.literature.config import LiteratureConfig
from sciswarm.literature.models import LiteratureUnavailable, Paper, normalize_query
from sciswarm.literature.openalex import OpenAlexEngine
from sciswarm.literature.retry import EngineFailed, RetryPolicy, run_with_retries
from sciswarm.literature.semantic_scholar import SemanticScholarEngine
from sciswarm.pacing import RateLimiter

log = logging.getLogger("sciswarm.literature")


class Engine(Protocol):
    name: str

    async def search(self, query: str, limit: int) -> list[Paper]: ...


def _resolve(path: str, base_dir: Path) -> Path:
    expanded = Path(path).expanduser()
    return expanded if expanded.is_absolute() else base_dir / expanded


def _build_engines(cfg: LiteratureConfig) -> list[Engine]:
    if cfg.engine == "none":
        return []
    if cfg.engine == "openalex":
        return [OpenAlexEngine(cfg.primary_api_base(), cfg.timeout_s, cfg.mailto)]
    api_key = os.environ.get(cfg.api_key_env) if cfg.api_key_env else None
    engines: list[Engine] = [SemanticScholarEngine(cfg.primary_api_base(), api_key or None, cfg.timeout_s)]
    if cfg.fallback_api_base:
        engines.append(OpenAlexEngine(cfg.fallback_api_base, cfg.timeout_s, cfg.mailto))
    return engines


class LiteratureSearch:
    """The literature search a role sees in its RoleContext. Share one instance across the swarm: the
    rate limiters and the cache connection live in it. Safe for concurrent use from asyncio tasks."""

    def __init__(
        self,
        config: LiteratureConfig | None = None,
        *,
        cache: LiteratureCache | None = None,
        engines: list[Engine] | None = None,
    ) -> None:
        self.config = config or LiteratureConfig(cache_path=None)
        self.cache = cache if cache is not None else LiteratureCache(None)
        self.engines: list[Engine] = engines if engines is not None else _build_engines(self.config)
        self.policy = RetryPolicy(
            max_attempts=self.config.max_attempts,
            timeout_s=self.config.timeout_s,
            backoff_base_s=self.config.backoff_base_s,
            backoff_max_s=self.config.backoff_max_s,
            deadline_s=self.config.deadline_s,
        )
        self._limiters = {e.name: RateLimiter(self.config.min_interval_s) for e in self.engines}
        self.breakers = {
            e.name: Breaker(e.name, self.config.cooldown_s, self.config.max_cooldown_s) for e in self.engines
        }

    @classmethod
    def from_config(
        cls,
        cfg: LiteratureConfig | Mapping[str, Any] | None = None,
        base_dir: str | Path | None = None,
    ) -> LiteratureSearch:
        """Build from the YAML section; relative paths resolve against ``base_dir`` (default: cwd).

        When ``seed_cache_json`` is set, its entries are loaded into the cache (existing entries win).
        """
        config = cfg if isinstance(cfg, LiteratureConfig) else LiteratureConfig.model_validate(cfg or {})
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        cache = LiteratureCache(_resolve(config.cache_path, base) if config.cache_path else None)
        if config.seed_cache_json:
            count = cache.import_json(_resolve(config.seed_cache_json, base))
            log.info("literature cache seeded with %d searches from %s", count, config.seed_cache_json)
        return cls(config, cache=cache)

    @property
    def cache_only(self) -> bool:
        return self.config.cache_only

    async def search(self, query: str, limit: int = 10) -> list[Paper]:
        """Papers matching ``query`` (at most ``limit``), from the cache or the first engine that answers.

        Raises LiteratureUnavailable when searching is disabled, on a cache miss in cache-only mode, or
        when every engine failed or is known to be down (the message names each engine and its last error);
        ValueError on an empty query or a limit below 1. A search waits at most ``wait_s`` over all engines;
        an engine found down is skipped by every search until its breaker lets a probe through.
        """
        if not query.strip():
            raise ValueError("empty literature query")
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        if not self.engines:
            raise LiteratureUnavailable("literature search is disabled (engine: none)")
        for engine in self.engines:
            cached = await self.cache.get(engine.name, query, limit)
            if cached is not None:
                log.debug("literature cache hit (%s): %r", engine.name, query)
                return cached
        if self.cache_only:
            raise LiteratureUnavailable(f"not in cache (cache-only mode): {normalize_query(query)!r}")
        errors: dict[str, str] = {}
        deadline = time.monotonic() + self.config.wait_s
        for i, engine in enumerate(self.engines):
            breaker = self.breakers[engine.name]
            decision = breaker.decide()
            if decision == "skip":
                errors[engine.name] = breaker.skipped_because()
                continue
            share = (deadline - time.monotonic()) / (len(self.engines) - i)  # what is left, split fairly
            policy = dataclasses.replace(self.policy, deadline_s=max(0.1, min(self.policy.deadline_s, share)))
            if decision == "probe":
                policy = dataclasses.replace(policy, max_attempts=1)
            try:
                papers = await run_with_retries(
                    engine.name,
                    functools.partial(engine.search, query, limit),
                    policy,
                    self._limiters[engine.name],
                    gave_up_elsewhere=lambda: breaker.is_open,  # noqa: B023 (called within this iteration)
                )
            except BaseException as exc:
                if not isinstance(exc, EngineFailed):
                    breaker.abandoned()
                    raise
                failure = exc
                errors[engine.name] = str(failure)
                if failure.down:
                    breaker.opened(str(failure), failure.retry_after)
                    log.warning("literature engine down, skipped by every search for a while: %s", failure)
                else:
                    breaker.closed()  # it answered: up, but refused this request
                    log.warning("literature engine failed: %s", failure)
                continue
            breaker.closed()
            await self.cache.put(engine.name, query, limit, papers)
            return papers
        raise LiteratureUnavailable("; ".join(errors.values()), errors)

    async def bibtex(self, paper: Paper) -> str:
        """Valid BibTeX under the paper's stable cite key (see ``bibtex.cite_key``): the engine's entry
        cleaned up when it gave one (Semantic Scholar's citationStyles), else generated from metadata."""
        return bibtex_for(paper)

    def export_cache(self, path: str | Path) -> int:
        """Write the whole cache as JSON (the format ``seed_cache_json`` reads); returns entries written."""
        return self.cache.export_json(path)

    def import_cache(self, path: str | Path, *, overwrite: bool = False) -> int:
        return self.cache.import_json(path, overwrite=overwrite)

    def close(self) -> None:
        self.cache.close()
