"""Novelty critic against a fake Semantic Scholar/OpenAlex server: outages, undecided critics, real rounds."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from agent_support import Swarm, idea_reply, novelty_reply
from support.fake_openai import FakeOpenAI
from support.fake_scholar import FakeScholar, fail


@pytest.fixture
def scholar() -> Iterator[FakeScholar]:
    with FakeScholar() as server:
        yield server


def literature(server: FakeScholar) -> dict[str, Any]:
    """Both engines on the fake server, with retries small enough that an outage costs milliseconds."""
    return {
        "engine": "semanticscholar",
        "api_base": server.url,
        "fallback_api_base": server.url,
        "api_key_env": "SCISWARM_TEST_NO_S2_KEY",
        "cache_path": None,
        "min_interval_s": 0,
        "max_attempts": 2,
        "timeout_s": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.02,
        "deadline_s": 5,
    }


IDEATOR = {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}}


@pytest.mark.parametrize("proceed_on_unknown", [True, False])
async def test_search_outage_gives_unknown_and_proceed_follows_the_flow_setting(
    swarm: Swarm, scholar: FakeScholar, proceed_on_unknown: bool
) -> None:
    scholar.always("s2", fail(500))
    scholar.always("openalex", fail(429))
    roles: list[dict[str, Any]] = [IDEATOR, {"name": "novelty_critic", "params": {"max_rounds": 3}}]
    if not proceed_on_unknown:
        roles.append({"name": "coder"})  # must not start on a verdict that says do not proceed
    started = time.monotonic()
    out = await swarm.run(
        roles,
        replies={
            "ideator": [idea_reply("divisor_sweep")],
            "novelty_critic": [novelty_reply("undecided", "divisor toy experiment score")],
        },
        literature=literature(scholar),
        flow={"proceed_on_unknown_novelty": proceed_on_unknown},
    )
    assert time.monotonic() - started < 15
    assert out.status == "completed" and not out.of("role_failed")
    (verdict,) = out.of("novelty")
    assert verdict["verdict"] == "unknown"
    assert verdict["reason"].startswith("literature search unavailable")
    assert "HTTP 500" in verdict["reason"] and "HTTP 429" in verdict["reason"]
    assert verdict["proceed"] is proceed_on_unknown
    assert verdict["compared"] == []
    # both engines were really tried, each with its bounded retries
    assert len(scholar.requests_to("s2")) == 2 and len(scholar.requests_to("openalex")) == 2
    assert scholar.requests_to("s2")[0].params["query"] == "divisor toy experiment score"
    saved = json.loads((out.idea_dir("divisor_sweep") / "novelty.json").read_text())
    assert saved == {
        "verdict": "unknown",
        "reason": verdict["reason"],
        "compared": [],
        "proceed": proceed_on_unknown,
    }
    assert any("literature search unavailable" in t for t in out.logs("warning"))
    if not proceed_on_unknown:
        assert not out.of("plan") and not out.calls("coder")
        assert any("idea not pursued: novelty verdict 'unknown'" in t for t in out.logs())


async def test_no_decision_within_max_rounds_is_not_novel(swarm: Swarm, scholar: FakeScholar) -> None:
    out = await swarm.run(
        [IDEATOR, {"name": "novelty_critic", "params": {"max_rounds": 2}}, {"name": "coder"}],
        replies={
            "ideator": [idea_reply("diffusion_divisor")],
            "novelty_critic": [
                novelty_reply("undecided", "denoising diffusion"),
                novelty_reply("undecided", "diffusion models image synthesis"),
                novelty_reply("novel"),  # a third round would decide; max_rounds=2 must stop before it
            ],
        },
        literature=literature(scholar),
    )
    assert out.status == "completed"
    (verdict,) = out.of("novelty")
    assert verdict["verdict"] == "not novel" and verdict["proceed"] is False
    assert "no decision after 2 rounds" in verdict["reason"]
    assert len(out.calls("novelty_critic")) == 2
    assert [r.params["query"] for r in scholar.requests_to("s2")] == [
        "denoising diffusion",
        "diffusion models image synthesis",
    ]
    titles = [p["title"] for p in verdict["compared"]]
    assert "Denoising Diffusion Probabilistic Models" in titles
    assert "Diffusion Models Beat GANs on Image Synthesis" in titles
    assert len(titles) == len(set(titles))  # a paper found twice is compared once
    saved = json.loads((out.idea_dir("diffusion_divisor") / "novelty.json").read_text())
    assert saved["verdict"] == "not novel" and [p["title"] for p in saved["compared"]] == titles
    assert not out.of("plan")  # the coder does not pursue it


async def test_a_search_round_shows_the_papers_and_the_verdict_lists_them(swarm: Swarm, scholar: FakeScholar) -> None:
    with FakeOpenAI() as llm:
        llm.add(
            {"match": "Propose the next", "content": idea_reply("schedule_study")},
            {"match": "Give your first search query", "content": novelty_reply("undecided", "denoising diffusion")},
            {
                "match": "Results for",
                "content": "THOUGHT:\nHo et al. already did this.\n\nRESPONSE:\n"
                '```json\n{"Decision": "not novel", "Query": null}\n```',
            },
        )
        out = await swarm.run(
            [IDEATOR, {"name": "novelty_critic", "params": {"max_rounds": 3, "results_per_query": 3}}],
            api_base=llm.api_base,
            literature=literature(scholar),
        )
        requests = list(llm.requests)
    assert out.status == "completed" and not out.of("role_failed")
    (verdict,) = out.of("novelty")
    assert verdict["verdict"] == "not novel" and verdict["proceed"] is False
    assert verdict["reason"] == "Ho et al. already did this."
    compared = verdict["compared"]
    assert compared and compared[0]["title"] == "Denoising Diffusion Probabilistic Models"
    assert compared[0]["year"] == 2020 and compared[0]["authors"] == "Ho et al."
    assert (scholar.requests_to("s2")[0].params["limit"]) == "3"
    # the model saw the search results (titles and abstracts) before deciding
    round_two = json.dumps(requests[-1]["messages"])
    assert 'Results for \\"denoising diffusion\\"' in round_two
    assert "Denoising Diffusion Probabilistic Models" in round_two and "nonequilibrium thermodynamics" in round_two
    saved = json.loads((out.idea_dir("schedule_study") / "novelty.json").read_text())
    assert [p["title"] for p in saved["compared"]] == [p["title"] for p in compared]
