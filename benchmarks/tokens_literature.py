"""The seeded literature cache of benchmarks/tokens_per_paper.py: plausible records (10 per search, with
abstracts) for the novelty and citation queries, answered offline from the cache."""

from __future__ import annotations

from typing import Any

# ---- literature: a seeded cache ---------------------------------------------------------------------------

NOVELTY_QUERIES = ["noise schedules for denoising diffusion models", "diffusion models low-dimensional toy data"]
CITATIONS = [  # (query, section, what the sentence says the two papers do)
    ("importance of noise scheduling diffusion", "Related Work", "tie the best noise schedule to the data"),
    ("learned noise schedules variational diffusion", "Related Work", "learn the schedule with the model"),
    ("nearest neighbour kl divergence estimation", "Experimental Setup", "analyse the KL estimator we use"),
    ("score-based generative modeling sde", "Background", "cast diffusion as a stochastic differential equation"),
    ("denoising score matching", "Background", "relate noise prediction to score matching"),
    ("sinusoidal timestep embeddings", "Method", "embed the timestep with sinusoids"),
    ("residual mlp networks", "Method", "use residual MLP blocks like ours"),
    ("adamw decoupled weight decay", "Experimental Setup", "introduce the optimiser we train with"),
    ("one-cycle learning rate policy", "Experimental Setup", "propose the learning-rate schedule we use"),
    ("fast sampling of diffusion models", "Related Work", "reduce the number of sampling steps"),
    ("diffusion models for tabular data", "Introduction", "apply diffusion models to low-dimensional data"),
    ("evaluating generative models two-sample tests", "Results", "discuss how to compare generative models"),
    ("signal-to-noise ratio weighting diffusion loss", "Results", "study how the loss weights noise levels"),
    ("elucidating design space diffusion", "Related Work", "study the design space of noise levels"),
    ("toy datasets for generative modelling", "Experimental Setup", "use 2-D toy data to study generative models"),
]
HEADS = ["Revisiting", "Understanding", "Analyzing", "Improving", "Benchmarking"]
HEADS += ["Rethinking", "Characterizing", "Scaling", "Evaluating", "Simplifying"]
SURNAMES = "Ho Song Nichol Chen Kingma Karras Salimans Poole Dhariwal Vahdat Lipman Bansal Meng Ermon Welling Zhang Li"
SURNAMES += " Wang Liu Yang Huang Kim Park Singh Gupta Rossi Muller Novak Silva Costa Haddad Tanaka Okafor Larsen"
FIRST = ["Alex", "Maria", "Jun", "Priya", "David", "Sofia", "Tom", "Aisha", "Lukas", "Mei"]
VENUES = ["Neural Information Processing Systems", "International Conference on Machine Learning", "arXiv.org"]
VENUES += ["International Conference on Learning Representations", "Journal of Machine Learning Research"]


def literature(queries: list[str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A cache export with 10 papers per query, and the cite keys the writer will see for each query."""
    names = SURNAMES.split()
    entries: list[dict[str, Any]] = []
    keys: dict[str, list[str]] = {}
    for q, query in enumerate(queries):
        papers: list[dict[str, Any]] = []
        keys[query] = []
        for j in range(10):
            surname, year = names[(q * 10 + j) % len(names)], 2014 + (q + 3 * j) % 11
            title = f"{HEADS[j]} {query.title()}"
            abstract = (
                f"We study {query}. Prior work has mostly considered images at high resolution, and the choices "
                f"that work there are often carried over unchanged to other data. We revisit these choices in a "
                f"controlled setting, give a simple analysis of when they help, and report experiments on "
                f"synthetic and real benchmarks with several seeds. Our results show that the conclusions depend "
                f"strongly on the dimension of the data and on the training budget, and we release our code."
            )
            papers.append(
                {
                    "paper_id": f"bench{q:02d}{j:02d}",
                    "title": title,
                    "abstract": abstract,
                    "year": year,
                    "venue": VENUES[(q + j) % len(VENUES)],
                    "authors": [f"{FIRST[(q + j) % 10]} {surname}", f"{FIRST[(q + j + 3) % 10]} {names[j]}"],
                    "citation_count": (q + 1) * (j + 7) * 13,
                    "url": f"https://example.org/paper/bench{q:02d}{j:02d}",
                    "source": "semanticscholar",
                }
            )
            # sciswarm's cite key: first author's surname + year + first significant title word (all ASCII here)
            keys[query].append(f"{surname.lower()}{year}{HEADS[j].lower()}")
        entries.append({"engine": "semanticscholar", "query": query, "limit": 10, "papers": papers})
    return {"format": "sciswarm.literature-cache/1", "entries": entries}, keys
