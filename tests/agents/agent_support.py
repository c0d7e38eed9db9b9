"""Helpers for the role tests: run a swarm from a dict, read what it did, and write model replies.

The swarm is the real one (SwarmRunner on the real bus, real sandbox, real LaTeX); only the model is
scripted (a replies file) or an OpenAI-compatible fake on 127.0.0.1 reached through LiteLLM.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, Field

__all__ = ["tiny_pdf"]

from support.tiny_pdf import write_pdf as tiny_pdf

from sciswarm.agents.base import Role
from sciswarm.agents.writer import PARTS
from sciswarm.events import MESSAGE_ADAPTER, Message
from sciswarm.run.config import load_config
from sciswarm.run.runner import SwarmRunner
from sciswarm.run.store import read_transcript

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TINY_TEMPLATE = FIXTURES / "tiny_template"
HAVE_LATEX = shutil.which("pdflatex") is not None and shutil.which("bibtex") is not None
needs_latex = pytest.mark.skipif(not HAVE_LATEX, reason="pdflatex/bibtex not installed")


# ---- a role that sets the stage: files in the run folder, then messages on the bus -------------------
class SeedParams(BaseModel):
    files: dict[str, str] = Field(default_factory=dict, description="run-dir-relative path -> text")
    messages: list[dict[str, Any]] = Field(default_factory=list, description="bus messages (with kind)")


class Seed(Role[SeedParams]):
    """On start, writes `files` into the run folder and publishes `messages` (e.g. Figures, Paper)."""

    name = "seed"
    subscribes = ("start",)
    Params = SeedParams

    async def handle(self, message: Message) -> None:
        for rel, text in self.params.files.items():
            path = self.ctx.run_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        for data in self.params.messages:
            await self.ctx.publish(MESSAGE_ADAPTER.validate_python(data), parent=message)


# ---- what a run did ----------------------------------------------------------------------------------
@dataclass
class Outcome:
    status: str
    run_dir: Path
    records: list[dict[str, Any]] = field(default_factory=list)

    def of(self, kind: str, **where: Any) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == kind and all(r.get(k) == v for k, v in where.items())]

    def logs(self, level: str | None = None) -> list[str]:
        return [str(r["text"]) for r in self.of("log") if level is None or r["level"] == level]

    def calls(self, sender: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.of("model_call") if sender is None or r["sender"] == sender]

    def idea_dir(self, idea_id: str) -> Path:
        return self.run_dir / "ideas" / idea_id

    @property
    def meta(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.run_dir / "run.json").read_text())
        return data


class Swarm:
    """Builds a swarm YAML in a world-traversable work folder and runs it to the end."""

    def __init__(self, work: Path, template: Path) -> None:
        self.work = work
        self.template = template
        self.runs = work / "runs"
        self.config_path = work / "swarm.yaml"

    def write_config(
        self,
        roles: list[dict[str, Any]],
        *,
        replies: dict[str, list[str]] | None = None,
        api_base: str | None = None,
        flow: dict[str, Any] | None = None,
        sandbox: dict[str, Any] | None = None,
        literature: dict[str, Any] | None = None,
        template: bool = True,
    ) -> Path:
        if api_base is not None:
            model: dict[str, Any] = {
                "model": "openai/gpt-4o-mini",
                "api_base": api_base,
                "max_retries": 1,
                "backoff_base_s": 0.01,
                "timeout_s": 30,
            }
        else:
            script = self.work / "replies.yaml"
            script.write_text(yaml.safe_dump(replies or {}, sort_keys=False, allow_unicode=True, width=1000))
            model = {"model": "scripted", "script": str(script)}
        data: dict[str, Any] = {
            "name": "agents-test",
            "description": "Study how the divisor of the toy experiment changes its score.",
            "runs_dir": str(self.runs),
            "models": {"default": model},
            "roles": roles,
            "flow": {"max_ideas": 3, "timeout_s": 120, **(flow or {})},
            "sandbox": {"provider": "local", "timeout_s": 30, "memory_mb": 1024, "cpus": 1, **(sandbox or {})},
            "literature": literature or {"engine": "none", "cache_path": None},
        }
        if template:
            data["template"] = str(self.template)
        self.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
        return self.config_path

    async def run(self, roles: list[dict[str, Any]], **options: Any) -> Outcome:
        runner = SwarmRunner(load_config(self.write_config(roles, **options)), run_id=f"t-{uuid.uuid4().hex[:8]}")
        status = await runner.run(handle_signals=False)
        run_dir = runner.store.run_dir
        return Outcome(status, run_dir, list(read_transcript(run_dir / "transcript.jsonl")))


# ---- model replies -----------------------------------------------------------------------------------
def idea_reply(name: str, title: str | None = None, *, done: bool = True) -> str:
    spec = {
        "Name": name,
        "Title": title or f"A Study of {name}",
        "Experiment": "Change DIVISOR in experiment.py and compare the score with the baseline.",
        "Interestingness": 5,
        "Feasibility": 9,
        "Novelty": 4,
    }
    thought = "A small, cheap idea." + (" I am done" if done else "")
    return f"THOUGHT:\n{thought}\n\nNEW IDEA JSON:\n```json\n{json.dumps(spec)}\n```"


def novelty_reply(decision: str, query: str | None = None) -> str:
    body = json.dumps({"Decision": decision, "Query": query})
    return f"THOUGHT:\nWeighing the idea against what I found so far.\n\nRESPONSE:\n```json\n{body}\n```"


def edit(path: str, search: str, replace: str, *, preface: str = "") -> str:
    text = f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"
    return f"{preface}\n\n{text}" if preface else text


def plan_reply(*runs: str) -> str:
    return json.dumps({"runs": list(runs)})


def review_json(
    overall: int = 4,
    *,
    scores: dict[str, int] | None = None,
    summary: str = "A toy study of the divisor.",
    decision: str = "Reject",
    weaknesses: list[str] | None = None,
) -> str:
    review: dict[str, Any] = {
        "Summary": summary,
        "Strengths": ["Simple and clear."],
        "Weaknesses": weaknesses or ["Only one toy metric."],
        "Questions": ["Does it hold for other divisors?"],
        "Limitations": ["Toy scale."],
        "Ethical_Concerns": False,
        "Originality": 2,
        "Quality": 2,
        "Clarity": 3,
        "Significance": 2,
        "Soundness": 2,
        "Presentation": 3,
        "Contribution": 2,
        "Overall": overall,
        "Confidence": 3,
        "Decision": decision,
        **(scores or {}),
    }
    return f"THOUGHT:\nMy assessment.\n\nREVIEW JSON:\n```json\n{json.dumps(review)}\n```"


DEFAULT_SECTIONS: dict[str, str] = {
    "Title and Abstract": "We study how the divisor of a toy experiment changes its score.",
    "Introduction": "The score of the toy experiment depends on a divisor, as typeset in \\citet{knuth1984texbook}.",
    "Background": "The score is the step divided by the divisor.",
    "Method": "We change the divisor and keep everything else fixed.",
    "Experimental Setup": "One run per divisor, each taking milliseconds.",
    "Results": "The baseline reaches the score in the table.",
    "Conclusion": "The divisor sets the score.",
    "Related Work": "Typesetting follows \\citet{knuth1984texbook}.",
}


def section_replies(title: str = "The Divisor Decides", **bodies: str) -> list[str]:
    """The writer's replies for every part, in the order it writes them (refine off). Keyword names use
    underscores for spaces, e.g. Experimental_Setup=..."""
    chosen = {**DEFAULT_SECTIONS, **{k.replace("_", " "): v for k, v in bodies.items()}}
    out = []
    for part in PARTS:
        body = f"```latex\n{chosen[part]}\n```"
        out.append(f"TITLE: {title}\n{body}" if part == "Title and Abstract" else body)
    return out


def writer_seed(idea_id: str = "divisor_study", *, with_results: bool = True) -> dict[str, Any]:
    """A `seed` role that hands the writer a finished idea (idea.json, notes, run_0 results) and Figures."""
    idea = json.loads(idea_reply(idea_id).split("```json\n", 1)[1].split("\n```", 1)[0])
    files = {
        f"ideas/{idea_id}/idea.json": json.dumps({**idea, "generation": 1}),
        f"ideas/{idea_id}/notes.txt": "# Experiment notes\n\n## Run 0: baseline\nResults: {'toy': {'score': 0.5}}\n",
    }
    if with_results:
        files[f"ideas/{idea_id}/workspace/run_0/final_info.json"] = json.dumps({"toy": {"means": {"score": 0.5}}})
    return {
        "name": "seed",
        "use": "agent_support:Seed",
        "params": {"files": files, "messages": [{"kind": "figures", "idea_id": idea_id, "files": []}]},
    }
