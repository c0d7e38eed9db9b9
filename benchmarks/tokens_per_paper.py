"""Tokens and dollars per paper on a scripted trajectory at The AI Scientist v1's loop counts.

    .venv/bin/python benchmarks/tokens_per_paper.py [--full-training] [--keep]

Builds, in a temporary folder, a swarm on templates/2d_diffusion with a scripted model whose replies have v1's
lengths in o200k tokens (counted here with tiktoken, offline) and runs it with `sciswarm run`:

- ideator: 3 rounds (num_reflections 3): the idea in 448 tokens, then 270 per reflection;
- novelty critic: 3 rounds of ~110 tokens (two searches, then the verdict);
- coder: a plan of 5 runs (max_runs 5), one search-replace edit per run (no failures), the plot labels;
- experimenter: the demo's vision checks (one per figure: what it shows, readable, as intended, no problems);
- writer: the demo's own section drafts (8 parts, written then refined), then 15 citation rounds of a
  164-token query and a 128-token selection, then the demo's claims audit (one fix round: the claims read
  out, the Results fixed, the claims read again; v1 has no such stage);
- reviewer panel: 5 reviewers x 5 rounds (num_reflections 5: the review in 848 tokens, then 4 reflections of
  754), then the area chair's meta-review in 771.

Padding is plausible text inside the THOUGHT sections, so every reply still parses. The literature answers
from a seeded cache (cache-only: no network), 10 papers with abstracts per search. The experiments really run
in the sandbox; to make them cheaper, run 1's edit also cuts the training steps from 2000 to 200 for every
run (the baseline run_0 keeps the template's 2000); this changes the code in later prompts by one token
("2000" -> "200"). `--full-training` keeps 2000 steps (~30 s per run instead of ~5 s).

Reads run.json's totals (prompt/completion tokens as recorded by the model layer) and prices them at $3 / $15
per million prompt / completion tokens. The prompts cannot be recounted from the transcript; the completions
can: the script compares each recorded completion_tokens with its own o200k count of that reply and says which
counting the records used (a warning when they look like len/4 estimates).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokens_literature import CITATIONS, NOVELTY_QUERIES, literature
from tokens_trajectory import REVIEWERS, Padder, o200k, replies, swarm_yaml

ROOT = Path(__file__).resolve().parent.parent
SCISWARM = Path(sys.executable).parent / "sciswarm"
PRICE_PROMPT, PRICE_COMPLETION = 3.0, 15.0  # $ per million tokens
V1_CALLS, V1_PROMPT, V1_COMPLETION, V1_USD = 136, 1_740_000, 82_500, 7.67  # v1 on the same trajectory
GOAL_USD = 1.00

# ---- report -----------------------------------------------------------------------------------------------


def usd(prompt: int, completion: int) -> float:
    return (prompt * PRICE_PROMPT + completion * PRICE_COMPLETION) / 1e6


def stage_group(stage: str) -> str:
    """role/stage without the run, reviewer or paper part: coder/implement/run_3 -> coder/implement."""
    return "/".join(p for p in stage.split("/") if not re.fullmatch(r"r\d+|run_\d+|[A-Z].*", p))


def table(title: str, rows: dict[str, dict[str, int]]) -> None:
    print(f"  {title:<34} {'calls':>5} {'prompt':>10} {'completion':>10} {'$':>8}")
    for name, r in rows.items():
        cost = usd(r["prompt_tokens"], r["completion_tokens"])
        print(f"  {name:<34} {r['calls']:5d} {r['prompt_tokens']:10,d} {r['completion_tokens']:10,d} {cost:8.4f}")


def counting(records: list[dict[str, Any]], script: dict[str, list[str]], count: Callable[[str], int]) -> str:
    """Which counter produced the recorded completion_tokens, judged on the replies served."""
    pairs = []
    for role, texts in script.items():
        calls = [r for r in records if r["kind"] == "model_call" and r.get("sender") == role]
        pairs += [(c["completion_tokens"], t) for c, t in zip(calls, texts, strict=False)]
    exact = sum(rec == count(text) for rec, text in pairs)
    quarter = sum(rec == max(1, len(text) // 4) for rec, text in pairs)
    if exact == len(pairs):
        return f"o200k (tiktoken): every recorded completion_tokens equals my count ({exact}/{len(pairs)} replies)"
    if quarter > exact:
        return (
            f"WARNING: len/4 estimates, not tokenizer counts ({quarter}/{len(pairs)} replies match len//4, "
            f"{exact} match o200k); prompt_tokens are presumably estimated the same way"
        )
    return f"unclear: {exact}/{len(pairs)} replies match o200k, {quarter} match len//4"


def stages_reached(records: list[dict[str, Any]]) -> list[str]:
    """What is missing from a complete paper trajectory ([] = nothing)."""
    kinds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        kinds[r["kind"]].append(r)
    ok_runs = {r["run"] for r in kinds["experiment_run"] if r["ok"]}
    wanted = {
        "idea": bool(kinds["idea"]),
        "novelty verdict novel": any(r["verdict"] == "novel" for r in kinds["novelty"]),
        "plan of 5 runs": any(len(r["runs"]) == 5 for r in kinds["plan"]),
        "runs 1-5 ok": ok_runs >= {1, 2, 3, 4, 5},
        "figures": any(r["files"] for r in kinds["figures"]),
        "8 drafted parts": len(kinds["draft"]) == 8,
        "claims audit": bool(kinds["claims_audit"]),
        "compiled paper": any(r["compiled"] for r in kinds["paper"]),
        f"{REVIEWERS} reviews": len(kinds["review"]) == REVIEWERS,
        "meta-review": bool(kinds["meta_review"]),
    }
    return [name for name, ok in wanted.items() if not ok]


def report(run_dir: Path, script: dict[str, list[str]], count: Callable[[str], int], wall: float) -> None:
    meta = json.loads((run_dir / "run.json").read_text())
    records = [json.loads(line) for line in (run_dir / "transcript.jsonl").read_text().splitlines() if line]
    totals = meta["totals"]
    by_stage: dict[str, dict[str, int]] = {}
    for stage, r in totals["by_stage"].items():
        group = by_stage.setdefault(stage_group(stage), defaultdict(int))
        for k in ("calls", "prompt_tokens", "completion_tokens"):
            group[k] += r[k]
    papers = [r for r in records if r["kind"] == "paper"]
    cites = papers[-1]["citations"] if papers else 0
    print(f"run: {meta['status']} in {wall:.0f} s ({meta.get('reason', '')}); paper with {cites} citations")
    planned = {role: len(texts) for role, texts in script.items()}
    print(f"scripted replies: {sum(planned.values())} ({', '.join(f'{k} {v}' for k, v in planned.items())})")
    lengths = {
        "idea": [count(t) for t in script["ideator"]],
        "novelty": [count(t) for t in script["novelty_critic"]],
        "cite query/select": [count(t) for t in script["writer"][16:18]],
        "review/reflect": [count(t) for t in script["reviewer_panel"][:2]],
        "meta": [count(script["reviewer_panel"][-1])],
    }
    print("reply lengths (o200k): " + "; ".join(f"{k} {'/'.join(map(str, v))}" for k, v in lengths.items()))
    print(f"token counting of the records: {counting(records, script, count)}")
    print("  (prompt_tokens are as recorded by the model layer: the prompts themselves are not in the transcript)")
    missing = stages_reached(records)
    print("stages: " + ("all reached" if not missing else f"MISSING {', '.join(missing)}"))
    print()
    table("by stage", by_stage)
    print()
    table("by role", totals["by_role"])
    t = totals["total"]
    cost = usd(t["prompt_tokens"], t["completion_tokens"])
    print()
    print(f"  {'per paper':<20} {'sciswarm':>12} {'v1 (AI Scientist)':>18} {'sciswarm/v1':>12}")
    for label, ours, theirs in [
        ("model calls", t["calls"], V1_CALLS),
        ("prompt tokens", t["prompt_tokens"], V1_PROMPT),
        ("completion tokens", t["completion_tokens"], V1_COMPLETION),
    ]:
        print(f"  {label:<20} {ours:12,d} {theirs:18,d} {ours / theirs:11.2f}x")
    print(f"  {'$ at $3/$15 per M':<20} {cost:12.2f} {V1_USD:18.2f} {cost / V1_USD:11.2f}x")
    v1_priced = usd(V1_PROMPT, V1_COMPLETION)
    print(
        f"  (v1's $ is the figure quoted for it; its tokens at $3/$15 make ${v1_priced:.2f}: {cost / v1_priced:.2f}x)"
    )
    audit = [r for stage, r in by_stage.items() if stage.startswith("writer/audit")]
    keys = ("calls", "prompt_tokens", "completion_tokens")
    a_calls, a_prompt, a_completion = (sum(r[k] for r in audit) for k in keys)
    print(
        f"  claims audit (writer/audit*): {a_calls} calls, {a_prompt:,d} prompt + {a_completion:,d} completion "
        f"tokens, ${usd(a_prompt, a_completion):.4f} ({100 * usd(a_prompt, a_completion) / cost:.1f}% of the paper)"
    )
    verdict = "meets" if cost <= GOAL_USD and not missing else "MISSES"
    print(f"  -> ${cost:.2f} per paper: {verdict} the goal <= ${GOAL_USD:.2f} without losing a stage")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full-training", action="store_true", help="keep the template's 2000 training steps")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    args = parser.parse_args()
    count = o200k()
    work = Path(tempfile.mkdtemp(prefix="sciswarm-bench-tokens-"))
    try:
        cache, keys = literature(NOVELTY_QUERIES + [q for q, _, _ in CITATIONS])
        script = replies(Padder(count), keys, args.full_training)
        (work / "literature_cache.json").write_text(json.dumps(cache))
        (work / "replies.yaml").write_text(json.dumps(script, indent=1))  # JSON is YAML
        (work / "swarm.yaml").write_text(json.dumps(swarm_yaml(), indent=1))
        argv = [str(SCISWARM), "run", str(work / "swarm.yaml"), "--no-output"]
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=work, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        (run_json,) = (work / "runs").glob("*/run.json")
        if proc.returncode != 0:
            print(f"WARNING: sciswarm run exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        report(run_json.parent, script, count, wall)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
