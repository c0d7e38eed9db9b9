"""`sciswarm review PAPER.pdf`: the reviewer panel alone, on any PDF."""

from __future__ import annotations

from pathlib import Path

from sciswarm.agents.ideator import slug
from sciswarm.events import Paper
from sciswarm.run.config import ConfigError, RoleSpec, SwarmConfig, load_config


def review_config(
    pdf: Path,
    *,
    config: Path | None,
    overrides: list[str],
    model: str | None,
    reviewers: int | None,
) -> SwarmConfig:
    if not pdf.is_file():
        raise ConfigError(f"{pdf}: no such PDF file")
    if config is not None:
        cfg = load_config(config, overrides)
    elif model is not None:
        cfg = SwarmConfig.model_validate(
            {"name": "review", "models": {"default": {"model": model}}, "roles": [{"name": "reviewer_panel"}]}
        )
    else:
        raise ConfigError("give a model (--model anthropic/...) or a swarm config (--config swarm.yaml)")
    try:
        panel = next(r for r in cfg.roles if (r.use or r.name) == "reviewer_panel")
    except StopIteration:
        panel = RoleSpec(name="reviewer_panel")
    params = {**panel.params, "improvement_rounds": 0}
    if reviewers is not None:
        params["num_reviewers"] = reviewers
    only = panel.model_copy(update={"params": params, "subscribes": ["paper"]})
    return cfg.model_copy(update={"name": f"review-{pdf.stem}", "roles": [only], "template": None})


def paper_message(pdf: Path) -> Paper:
    return Paper(idea_id=slug(pdf.stem, default="paper"), pdf=str(pdf.resolve()), sender="swarm")
