"""The `literature:` section of a swarm YAML."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

S2_API_BASE = "https://api.semanticscholar.org"
OPENALEX_API_BASE = "https://api.openalex.org"


class LiteratureConfig(BaseModel):
    """How the swarm searches the literature.

    ``engine`` is the primary engine; with "semanticscholar", OpenAlex at ``fallback_api_base`` is tried when
    Semantic Scholar fails after its retries (``fallback_api_base: null`` disables the fallback). "none"
    disables searching: every search raises LiteratureUnavailable. Relative paths resolve against the
    ``base_dir`` given to ``LiteratureSearch.from_config``; ``~`` is expanded.
    """

    model_config = ConfigDict(extra="forbid")

    engine: Literal["semanticscholar", "openalex", "none"] = "semanticscholar"
    api_base: str | None = Field(None, description="base URL of `engine`; None = its public API")
    fallback_api_base: str | None = OPENALEX_API_BASE
    api_key_env: str | None = Field("S2_API_KEY", description="env var holding the optional S2 API key")
    mailto: str | None = Field(None, description="e-mail sent to OpenAlex (its 'polite pool')")
    cache_path: str | None = Field(
        "~/.cache/sciswarm/literature.sqlite", description="SQLite cache file; None = in memory only"
    )
    seed_cache_json: str | None = Field(None, description="JSON cache export loaded into the cache at start")
    cache_only: bool = Field(False, description="answer from the cache only; a miss is LiteratureUnavailable")
    min_interval_s: float = Field(1.0, ge=0, description="min seconds between requests to one engine")
    max_attempts: int = Field(4, ge=1, le=20, description="attempts per engine (429/5xx/timeouts retried)")
    timeout_s: float = Field(20.0, gt=0, description="per request")
    backoff_base_s: float = Field(1.0, ge=0, description="first retry delay; doubles each retry")
    backoff_max_s: float = Field(20.0, ge=0, description="cap on one retry delay (also caps Retry-After)")
    deadline_s: float = Field(90.0, gt=0, description="max time spent on one engine for one search")
    wait_s: float = Field(
        60.0, gt=0, description="max time one search waits over all engines (a total outage: 'unavailable' then)"
    )
    cooldown_s: float = Field(
        120.0, ge=0, description="after an engine is found down, every search skips it this long; then one probe"
    )
    max_cooldown_s: float = Field(1800.0, ge=0, description="cap on a cool-down lengthened by Retry-After")

    def primary_api_base(self) -> str:
        if self.api_base:
            return self.api_base
        return OPENALEX_API_BASE if self.engine == "openalex" else S2_API_BASE
