"""Search-result records for the fake Semantic Scholar + OpenAlex server (fake_scholar.py), with the real APIs'
shapes; ids and counts are illustrative.

``s2_paper(...)`` builds a paper as the S2 Graph API returns it, ``openalex_work(...)`` a work as OpenAlex's
``/works`` does (its abstract as an ``abstract_inverted_index``); SAMPLE_S2_PAPERS and SAMPLE_OPENALEX_WORKS are
what a FakeScholar serves unless given others.
"""

from __future__ import annotations

import hashlib
from typing import Any


def _pid(title: str) -> str:
    return hashlib.sha1(title.encode()).hexdigest()


def s2_paper(
    title: str,
    authors: list[str],
    year: int | None,
    venue: str,
    abstract: str | None,
    citations: int,
    external: dict[str, Any] | None = None,
    bibtex: str | None = None,
) -> dict[str, Any]:
    """A paper record as the S2 Graph API returns it (all the fields sciswarm asks for)."""
    pid = _pid(title)
    return {
        "paperId": pid,
        "externalIds": {"CorpusId": int(pid[:7], 16), **(external or {})},
        "url": f"https://www.semanticscholar.org/paper/{pid}",
        "title": title,
        "abstract": abstract,
        "venue": venue,
        "year": year,
        "citationCount": citations,
        "citationStyles": {"bibtex": bibtex} if bibtex else None,
        "authors": [{"authorId": str(int(_pid(a)[:8], 16)), "name": a} for a in authors],
    }


DDPM_ABSTRACT = (
    "We present high quality image synthesis results using diffusion probabilistic models, a class of "
    "latent variable models inspired by considerations from nonequilibrium thermodynamics. Our best "
    "results are obtained by training on a weighted variational bound designed according to a novel "
    "connection between diffusion probabilistic models and denoising score matching with Langevin dynamics."
)
SAMPLE_S2_PAPERS: list[dict[str, Any]] = [
    s2_paper(
        "Denoising Diffusion Probabilistic Models",
        ["Jonathan Ho", "Ajay Jain", "P. Abbeel"],
        2020,
        "Neural Information Processing Systems",
        DDPM_ABSTRACT,
        15000,
        {"ArXiv": "2006.11239", "DBLP": "conf/nips/HoJA20", "MAG": "3100572490"},
        "@['JournalArticle', 'Conference']{Ho2020DenoisingDP,\n author = {Jonathan Ho and Ajay Jain and "
        "P. Abbeel},\n booktitle = {Neural Information Processing Systems},\n journal = {ArXiv},\n "
        "title = {Denoising Diffusion Probabilistic Models},\n volume = {abs/2006.11239},\n "
        "year = {2020}\n}\n",
    ),
    s2_paper(
        "Score-Based Generative Modeling through Stochastic Differential Equations",
        [
            "Yang Song",
            "Jascha Narain Sohl-Dickstein",
            "Diederik P. Kingma",
            "Abhishek Kumar",
            "Stefano Ermon",
        ],
        2020,
        "International Conference on Learning Representations",
        "Creating noise from data is easy; creating data from noise is generative modeling. We present a "
        "stochastic differential equation (SDE) that smoothly transforms a complex data distribution.",
        5000,
        {"ArXiv": "2011.13456", "DBLP": "conf/iclr/0011SKKEP21"},
        "@['JournalArticle']{Song2020ScoreBasedGM,\n author = {Yang Song and Jascha Narain Sohl-Dickstein "
        "and Diederik P. Kingma and Abhishek Kumar and Stefano Ermon and Ben Poole},\n journal = {ArXiv},"
        "\n title = {Score-Based Generative Modeling through Stochastic Differential Equations},\n "
        "volume = {abs/2011.13456},\n year = {2020}\n}\n",
    ),
    s2_paper(
        "Grokking: Generalization Beyond Overfitting on Small Algorithmic Datasets",
        ["Alethea Power", "Yuri Burda", "Harrison Edwards", "Igor Babuschkin", "Vedant Misra"],
        2022,
        "arXiv.org",
        None,  # S2 often has no abstract
        600,
        {"ArXiv": "2201.02177"},
        None,  # and sometimes no citationStyles
    ),
    s2_paper(
        "Diffusion Models Beat GANs on Image Synthesis",
        ["Prafulla Dhariwal", "Alex Nichol"],
        2021,
        "Neural Information Processing Systems",
        "We show that diffusion models can achieve image sample quality superior to the current "
        "state-of-the-art generative models.",
        6000,
        {"ArXiv": "2105.05233", "DOI": "10.5555/diffusion.beats.gans"},
        "@None{Dhariwal2021DiffusionMB,\n author = {Prafulla Dhariwal and Alex Nichol},\n booktitle = "
        "{Neural Information Processing Systems},\n title = {Diffusion Models Beat GANs on Image Synthesis},"
        "\n year = {2021}\n}\n",
    ),
]


def inverted_index(text: str) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for position, word in enumerate(text.split()):
        index.setdefault(word, []).append(position)
    return index


def openalex_work(
    title: str,
    authors: list[str],
    year: int | None,
    source: str | None,
    abstract: str | None,
    citations: int,
    doi: str | None = None,
) -> dict[str, Any]:
    """A work record as OpenAlex's ``/works`` returns it (the fields sciswarm selects, and a few more)."""
    wid = "W" + str(int(_pid(title)[:9], 16))
    return {
        "id": f"https://openalex.org/{wid}",
        "doi": f"https://doi.org/{doi}" if doi else None,
        "title": title,
        "display_name": title,
        "publication_year": year,
        "publication_date": f"{year}-06-19" if year else None,
        "type": "article",
        "cited_by_count": citations,
        "authorships": [
            {
                "author_position": "first" if i == 0 else "middle",
                "author": {"id": f"https://openalex.org/A{i + 1}", "display_name": a, "orcid": None},
                "institutions": [],
                "raw_author_name": a,
            }
            for i, a in enumerate(authors)
        ],
        "primary_location": {
            "is_oa": True,
            "landing_page_url": f"https://example.org/{wid}",
            "pdf_url": None,
            "source": {"id": "https://openalex.org/S1", "display_name": source, "type": "journal"} if source else None,
        },
        "abstract_inverted_index": inverted_index(abstract) if abstract else None,
    }


SAMPLE_OPENALEX_WORKS: list[dict[str, Any]] = [
    openalex_work(
        "Denoising Diffusion Probabilistic Models",
        ["Jonathan Ho", "Ajay Jain", "Pieter Abbeel"],
        2020,
        "arXiv (Cornell University)",
        DDPM_ABSTRACT,
        9000,
        "10.48550/arxiv.2006.11239",
    ),
    openalex_work(
        "Improved Denoising Diffusion Probabilistic Models",
        ["Alex Nichol", "Prafulla Dhariwal"],
        2021,
        None,
        "Denoising diffusion probabilistic models (DDPM) are a class of generative models.",
        2500,
    ),
]
