"""Ideator failure paths: unusable idea JSON is re-asked a bounded number of times, duplicates are dropped."""

from __future__ import annotations

import json

from agent_support import Swarm, idea_reply


async def test_invalid_idea_json_is_reasked_then_role_failed_and_the_run_goes_on_as_partial(swarm: Swarm) -> None:
    out = await swarm.run(
        [
            {"name": "ideator", "params": {"num_ideas": 2, "num_reflections": 1}},
            {"name": "novelty_critic"},  # literature disabled: a verdict without model calls
        ],
        replies={
            "ideator": [
                # idea 1: not JSON, then valid -> published after one re-ask
                "I have a great idea but no JSON today.",
                idea_reply("first_idea"),
                # idea 2: a score out of range, a missing field, then prose: three strikes
                idea_reply("second_idea").replace('"Novelty": 4', '"Novelty": 11'),
                idea_reply("second_idea").replace('"Title": "A Study of second_idea", ', ""),
                "Still thinking...",
                # never asked for: the re-asks are bounded (json_retries=2 -> 3 attempts)
                idea_reply("fourth_attempt"),
            ]
        },
    )
    assert out.status == "partial"  # one idea came out, the second did not
    ideas = out.of("idea")
    assert [i["name"] for i in ideas] == ["first_idea"]
    failed = out.of("role_failed")
    assert len(failed) == 1
    assert failed[0]["role"] == "ideator" and failed[0]["on_kind"] == "start"
    assert "no valid IdeaSpec JSON after 3 attempts" in failed[0]["error"]
    assert "no JSON found" in failed[0]["error"]  # the last problem is the one reported
    stages = [c["stage"] for c in out.calls("ideator")]
    assert stages == ["idea", "idea/json-retry", "idea", "idea/json-retry", "idea/json-retry"]
    # the swarm went on with the idea that was published
    (verdict,) = out.of("novelty")
    assert verdict["idea_id"] == "first_idea" and verdict["verdict"] == "unknown" and verdict["proceed"] is True
    assert not out.idea_dir("second_idea").exists() and not out.idea_dir("fourth_attempt").exists()
    assert out.meta["status"] == "partial" and "ideator: no valid IdeaSpec JSON" in out.meta["reason"]
    assert out.meta["outcomes"]["first_idea"]["outcome"] == "done"


async def test_duplicate_idea_names_are_not_published(swarm: Swarm) -> None:
    out = await swarm.run(
        [{"name": "ideator", "params": {"num_ideas": 3, "num_reflections": 1}}],
        replies={
            "ideator": [
                idea_reply("same_idea", "The First Title"),
                idea_reply("same_idea", "A Second Title For The Same Name"),
                idea_reply("Same Idea", "Same name up to case and spaces"),  # same folder: ideas/same_idea
            ]
        },
    )
    assert out.status == "completed"
    ideas = out.of("idea")
    assert [(i["idea_id"], i["title"]) for i in ideas] == [("same_idea", "The First Title")]
    assert sum("duplicate idea name" in text for text in out.logs("warning")) == 2
    saved = json.loads((out.idea_dir("same_idea") / "idea.json").read_text())
    assert saved["Title"] == "The First Title"
    assert [p.name for p in (out.run_dir / "ideas").iterdir()] == ["same_idea"]
