"""The scripted trajectory of benchmarks/tokens_per_paper.py: replies of The AI Scientist v1's lengths in o200k
tokens, a seeded literature cache, and the swarm that runs them (see that file's docstring)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from tokens_literature import CITATIONS, NOVELTY_QUERIES

ROOT = Path(__file__).resolve().parent.parent
REVIEWERS, REVIEW_ROUNDS, CITE_ROUNDS = 5, 5, 15


# ---- token counting ---------------------------------------------------------------------------------------


def o200k() -> Callable[[str], int]:
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.origin, "litellm is not installed (it ships tiktoken's o200k file)"
    os.environ["TIKTOKEN_CACHE_DIR"] = str(Path(spec.origin).parent / "litellm_core_utils" / "tokenizers")
    import tiktoken

    enc = tiktoken.get_encoding("o200k_base")
    return lambda text: len(enc.encode(text, disallowed_special=()))


# Plausible text that pads THOUGHT sections to the wanted length (words are taken in turn, from an offset).
FILLER = {
    "idea": (
        "The template trains a small MLP denoiser with a linear beta schedule on four two-dimensional datasets, "
        "and one configuration runs in well under a minute on a CPU. Schedules designed for images, such as the "
        "quadratic and cosine schedules, change how much of training is spent at each noise level, but their "
        "motivation comes from high-resolution images, where a linear schedule destroys information too early. "
        "In two dimensions the signal is destroyed at a very different rate, and it is not obvious that the same "
        "advice transfers. A controlled comparison that changes only the schedule and keeps the model, the "
        "optimiser, the budget and the seed fixed is cheap here and answers a practical question for anyone who "
        "copies image defaults into a low-dimensional problem. The KL divergence of generated samples against "
        "held-out data is the right metric, because the denoising loss weights noise levels differently under "
        "each schedule and is therefore not comparable across runs. The sigmoid and exponential schedules widen "
        "the comparison beyond the two image defaults and help separate the shape of a schedule from its end "
        "points. A final run with more diffusion steps checks whether the conclusion depends on the "
        "discretisation. The risk is that all differences fall within the noise of the nearest-neighbour "
        "estimator, which would itself be a useful negative result if it is reported with care."
    ),
    "novelty": (
        "The closest work studies schedules for images: the cosine schedule was introduced to fix the linear "
        "schedule at low resolution, later work ties the best schedule to the image size, and learned schedules "
        "remove the choice altogether. I have not yet seen a controlled comparison on low-dimensional data with "
        "a small denoiser, which is the question here, so one more targeted search is needed before deciding. "
        "If the results show only image benchmarks again, the idea is distinct enough to count as novel, "
        "although the contribution is modest and the paper has to say so plainly."
    ),
    "cite": (
        "The outline shows that this part of the paper makes a claim without a source. A reader who wants to "
        "check it needs the original reference, and reviewers look for the standard citation here. The search "
        "should find the paper that introduced the idea rather than a later survey, so the query names the "
        "method and its setting. Adding it strengthens the related work and the experimental setup alike. "
        "The bibliography already covers the diffusion model itself and the cosine schedule, so a second "
        "citation for those would not help. What is missing is the work the paper relies on without saying "
        "so: the estimator, the optimiser, the architecture and the closest studies of schedules, each of "
        "which a careful reviewer would expect to see cited where it is first used."
    ),
    "select": (
        "The first two results are the papers I was looking for: they are the original sources of the claim, "
        "they are well cited, and their setting matches ours closely enough to support the sentence. The other "
        "results study images or other kinds of data, or are later follow-ups that cite the first two, so "
        "citing them as well would add length without adding support. The sentence goes at the end of the "
        "section named in the query, where the claim is made, and uses the keys given in brackets."
    ),
    "review": (
        "The paper asks a narrow but practical question: whether noise schedules designed for images help a "
        "diffusion model on two-dimensional toy data. The experimental design is clean, since only the schedule "
        "changes between runs, and the authors correctly warn that the denoising loss is not comparable across "
        "schedules. The results table and the figures make the claims easy to check. On the other hand, every "
        "number comes from a single seed and the differences in KL divergence are close to the noise of the "
        "nearest-neighbour estimator, so the ranking of the schedules may not be stable. Only one model size "
        "and one training budget are studied, and the datasets are procedurally generated toys, which limits "
        "the significance for practitioners. The explanation of why the cosine schedule lowers the loss is "
        "plausible but not verified with a per-timestep analysis. The related work is short but adequate for a "
        "workshop-style study. Reproducibility is good: every hyperparameter is given and the code is small. I "
        "weigh the clean design against the limited scope and the missing statistics. Looking at the method "
        "section in more detail, the derivation of the cosine betas from the cumulative product is correct and "
        "the clipping at 0.999 follows the original paper. The sigmoid and exponential schedules are described "
        "in one line each, which is enough to reproduce them. The experimental setup fixes the optimiser, the "
        "learning-rate schedule and the batch size, but does not say how the number of training steps was "
        "chosen, and the conclusions could change with a longer budget. The results section reports every "
        "metric of every run, which I appreciate, yet it draws conclusions from differences that the paper "
        "itself says are within the noise of the estimator. A repeated experiment with three to five seeds "
        "and confidence intervals would settle this and would make the negative result much more convincing."
    ),
    "reflect": (
        "Rereading my review against the paper, the summary is accurate and the strengths are supported by the "
        "text. The weaknesses are the ones that matter most: a single seed, differences within the estimator's "
        "noise, and one model size. I considered raising the presentation score, since the figures are clear, "
        "but the captions do not state the number of samples. The questions I ask would, if answered, change "
        "my assessment, which is what questions should do. The scores are consistent with the text of the "
        "review and with the decision, and the confidence reflects that I checked the method in detail. "
        "One point deserves more weight than I gave it: the paper is honest about its limits and reports every "
        "metric, including the ones that do not favour its story. Another deserves less: the short related "
        "work section is acceptable for a study of this size. I also checked whether any weakness I listed is "
        "answered elsewhere in the paper; the appendix-free format means it is not. The summary could state "
        "the number of datasets and runs, so that the area chair sees the scale of the study at a glance. "
        "I keep the decision, because the scope is too narrow for the main track even if the execution is "
        "sound, and I keep the confidence, because the method is simple enough to check completely."
    ),
    "meta": (
        "The reviewers agree that the study is carefully controlled and clearly written, and that the warning "
        "about comparing losses across schedules is correct and useful. They also agree on the main weakness: "
        "a single seed, with differences close to the noise of the estimator, on toy data with one model size. "
        "No reviewer found an error in the method. The disagreement is only about how much a negative result "
        "of this scope contributes; the majority finds it too narrow for the main track. The authors could "
        "strengthen the paper with several seeds and confidence intervals, a per-timestep analysis of the "
        "loss, one larger model and a longer budget, and a dataset that is not procedurally generated. The "
        "questions about seed variance and per-timestep losses should be answered in a revision."
    ),
}


class Padder:
    def __init__(self, count: Callable[[str], int]) -> None:
        self.count = count
        self.uses: dict[str, int] = defaultdict(int)

    def fit(self, reply: str, target: int, pool: str) -> str:
        """`reply` with its `<PAD>` replaced by the fewest filler words that bring it to >= target tokens."""
        words = FILLER[pool].split()
        start = self.uses[pool] * 17  # vary the text between replies of one kind
        self.uses[pool] += 1

        def padded(k: int) -> str:
            return reply.replace("<PAD>", " ".join(words[(start + i) % len(words)] for i in range(k)))

        lo, hi = 0, 4 * target
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (mid + 1, hi) if self.count(padded(mid)) < target else (lo, mid)
        return padded(lo)


# ---- the scripted replies ---------------------------------------------------------------------------------

IDEA = {
    "Name": "noise_schedule_study",
    "Title": "Do Image-Domain Noise Schedules Help Diffusion Models on Low-Dimensional Data?",
    "Experiment": (
        "Keep the model, optimiser and budget of the template fixed and change only the beta schedule: run 1 "
        "uses the quadratic schedule, run 2 the cosine schedule of Nichol and Dhariwal, run 3 a sigmoid schedule, "
        "run 4 an exponential schedule and run 5 the cosine schedule with 200 diffusion steps. Compare the kNN KL "
        "divergence of samples on all four datasets (the held-out loss is not comparable across schedules), the "
        "loss curves and the samples."
    ),
    "Interestingness": 6,
    "Feasibility": 9,
    "Novelty": 5,
}
ARG = '    parser.add_argument("--beta_schedule", type=str, default="{}", choices=[{}])'
ELSE = '        else:\n            raise ValueError(f"unknown beta schedule {schedule!r}")'
SCHEDULES = {
    "cosine": (
        "            steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps\n"
        "            alpha_bar = torch.cos((steps + 0.008) / 1.008 * math.pi / 2) ** 2\n"
        "            betas = (1.0 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999).float()"
    ),
    "sigmoid": (
        "            betas = torch.sigmoid(torch.linspace(-6, 6, num_timesteps)) * (beta_end - beta_start) + beta_start"
    ),
    "exponential": (
        "            betas = torch.exp(torch.linspace(math.log(beta_start), math.log(beta_end), num_timesteps))"
    ),
}


def edit(search: str, replace: str, path: str = "experiment.py") -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def arg(default: str, choices: list[str]) -> str:
    return ARG.format(default, ", ".join(f'"{c}"' for c in choices))


def coder_replies(full_training: bool) -> list[str]:
    plan = {
        "runs": [
            "Quadratic beta schedule (already implemented): make it the default.",
            "Cosine schedule of Nichol and Dhariwal (2021): implement it and make it the default.",
            "Sigmoid schedule: betas follow a sigmoid between beta_start and beta_end.",
            "Exponential schedule: betas interpolate log-linearly between beta_start and beta_end.",
            "Cosine schedule with 200 diffusion steps instead of 100.",
        ]
    }
    choices = ["linear", "quadratic"]
    run1 = "Run 1 only changes the default schedule; the quadratic schedule already exists.\n\n"
    run1 += edit(arg("linear", choices), arg("quadratic", choices))
    if not full_training:
        steps = '    parser.add_argument("--num_train_steps", type=int, default={})'
        run1 += "\nFive runs must fit the compute budget: train every run for 200 steps.\n\n"
        run1 += edit(steps.format(2000), steps.format(200))
    replies, previous = [json.dumps(plan), run1], "quadratic"
    notes = "NOTES: Run {} ({} schedule) finished on all four datasets; see its KL divergence against the baseline."
    for run, name in enumerate(["cosine", "sigmoid", "exponential"], start=2):
        new = [*choices, name]
        text = notes.format(run - 1, previous) + f"\n\nNow the {name} schedule.\n\n"
        text += edit(ELSE, f'        elif schedule == "{name}":\n{SCHEDULES[name]}\n{ELSE}')
        text += "\n" + edit(arg(previous, choices), arg(name, new))
        replies.append(text)
        choices, previous = new, name
    steps_arg = '    parser.add_argument("--num_timesteps", type=int, default={})'
    run5 = notes.format(4, previous) + "\n\nNow the cosine schedule with 200 steps.\n\n"
    run5 += (
        edit(arg(previous, choices), arg("cosine", choices)) + "\n" + edit(steps_arg.format(100), steps_arg.format(200))
    )
    labels = ["Linear (baseline)", "Quadratic", "Cosine", "Sigmoid", "Exponential", "Cosine, T=200"]
    new_labels = "labels = {\n" + "".join(f'    "run_{i}": "{label}",\n' for i, label in enumerate(labels)) + "}"
    plot = (
        notes.format(5, "cosine, 200-step")
        + "\n\n"
        + edit('labels = {\n    "run_0": "Baseline",\n}', new_labels, "plot.py")
    )
    return [*replies, run5, plot]


def review_reply(review: dict[str, Any], target: int, pool: str, pad: Padder, done: bool = False) -> str:
    thought = "<PAD>" + (" I am done" if done else "")
    return pad.fit(f"THOUGHT:\n{thought}\n\nREVIEW JSON:\n```json\n{json.dumps(review, indent=1)}\n```", target, pool)


def replies(pad: Padder, keys: dict[str, list[str]], full_training: bool) -> dict[str, list[str]]:
    demo = yaml.safe_load((ROOT / "configs" / "demo" / "replies.yaml").read_text())
    idea = f"NEW IDEA JSON:\n```json\n{json.dumps(IDEA, indent=1)}\n```"
    ideator = [
        pad.fit(f"THOUGHT:\n<PAD>\n\n{idea}", 448, "idea"),
        pad.fit(f"THOUGHT:\n<PAD>\n\n{idea}", 270, "idea"),
        pad.fit(f"THOUGHT:\n<PAD> I am done\n\n{idea}", 270, "idea"),
    ]
    steps = [{"Decision": "undecided", "Query": q} for q in NOVELTY_QUERIES] + [{"Decision": "novel", "Query": None}]
    novelty = [pad.fit(f"THOUGHT:\n<PAD>\n\nRESPONSE:\n```json\n{json.dumps(s)}\n```", 110, "novelty") for s in steps]
    writer = list(demo["writer"][:16])  # the demo's 8 parts, each written then refined
    for query, section, claim in CITATIONS:
        q = {"Done": False, "Query": query, "Section": section, "Why": f"The {section} needs work that {claim}."}
        writer.append(pad.fit(f"THOUGHT:\n<PAD>\n\n```json\n{json.dumps(q)}\n```", 164, "cite"))
        a, b = keys[query][:2]
        sentence = f"\\citet{{{a}}} and \\citet{{{b}}} {claim}, which supports the choices we make here."
        writer.append(pad.fit(f"THOUGHT: <PAD>\n\nSELECTED: 1, 2\nSENTENCE:\n{sentence}", 128, "select"))
    writer += demo["writer"][-3:]  # the demo's claims audit: the claims read out, the Results fixed, read again
    # five runs make the samples grid (one row per run) taller than the page: the layout check's fix of Results
    fixed = demo["writer"][-2]
    assert "width=0.9\\linewidth]{generated_samples.png}" in fixed
    writer.append(fixed.replace("width=0.9\\linewidth]{generated_samples", "height=0.7\\textheight]{generated_samples"))
    fences = [json.loads(m) for m in re.findall(r"```json\n(.*?)```", "\n".join(demo["reviewer_panel"]), re.DOTALL)]
    reviews = [fences[0], fences[2], fences[4], {**fences[0], "Overall": 4}, {**fences[2], "Confidence": 4}]
    panel = []
    for review in reviews:
        panel.append(review_reply(review, 848, "review", pad))
        for rnd in range(2, REVIEW_ROUNDS + 1):
            panel.append(review_reply(review, 754, "reflect", pad, done=rnd == REVIEW_ROUNDS))
    panel.append(review_reply(fences[-1], 771, "meta", pad))
    return {
        "ideator": ideator,
        "novelty_critic": novelty,
        "coder": coder_replies(full_training),
        "experimenter": list(demo["experimenter"]),
        "writer": writer,
        "reviewer_panel": panel,
    }


def swarm_yaml() -> dict[str, Any]:
    return {
        "name": "tokens-per-paper",
        "description": "Study how the noise schedule affects DDPMs on 2-D toy data.",
        "template": str(ROOT / "templates" / "2d_diffusion"),
        "runs_dir": "runs",
        "models": {"default": {"model": "scripted", "script": "replies.yaml"}},
        "roles": [
            {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 3}},
            {"name": "novelty_critic", "params": {"max_rounds": 3}},
            {"name": "coder", "params": {"max_runs": 5}},
            {"name": "experimenter"},
            {"name": "writer", "params": {"citation_rounds": CITE_ROUNDS, "audit_rounds": 1}},
            {
                "name": "reviewer_panel",
                "params": {"num_reviewers": REVIEWERS, "num_reflections": REVIEW_ROUNDS, "parallel": False},
            },
        ],
        "flow": {"max_ideas": 1},
        "sandbox": {"provider": "auto", "timeout_s": 600, "memory_mb": 4096},
        "literature": {"seed_cache_json": "literature_cache.json", "cache_only": True, "cache_path": None},
    }
