"""Literature search for the swarm: Semantic Scholar (OpenAlex fallback), BibTeX, cache, rate limits.

Typical use::

    search = LiteratureSearch.from_config(cfg.literature, base_dir=config_dir)
    papers = await search.search("denoising diffusion models", limit=10)  # or LiteratureUnavailable
    prompt_text = format_for_prompt(papers)
    bib = await search.bibtex(papers[0])  # "@inproceedings{ho2020denoising, ..."
"""

from sciswarm.literature.bibtex import bibtex_for, cite_key, generate_bibtex, normalize_bibtex
from sciswarm.literature.cache import LiteratureCache
from sciswarm.literature.config import LiteratureConfig
from sciswarm.literature.models import LiteratureUnavailable, Paper
from sciswarm.literature.prompt import format_for_prompt
from sciswarm.literature.search import LiteratureSearch

__all__ = [
    "LiteratureCache",
    "LiteratureConfig",
    "LiteratureSearch",
    "LiteratureUnavailable",
    "Paper",
    "bibtex_for",
    "cite_key",
    "format_for_prompt",
    "generate_bibtex",
    "normalize_bibtex",
]
