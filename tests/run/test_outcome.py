"""Run status from what the ideas produced (Outcomes), on transcript-shaped records."""

from __future__ import annotations

from typing import Any

from sciswarm.run.outcome import Outcomes

PIPELINE = [["idea"], ["novelty"], ["plan", "code_change"], ["experiment_run", "figures"], ["paper"], ["meta_review"]]


def rec(kind: str, idea: str = "swarm", **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "idea_id": idea, "sender": "x", **fields}


def judge(*records: dict[str, Any], roles: list[list[str] | None] = PIPELINE) -> tuple[str, str, Outcomes]:
    outcomes = Outcomes.for_roles(roles)
    for r in [rec("start"), *records]:
        outcomes.observe(r)
    status, reason = outcomes.verdict()
    return status, reason, outcomes


def finished(idea: str) -> list[dict[str, Any]]:
    return [
        rec("idea", idea),
        rec("novelty", idea, verdict="novel", proceed=True),
        rec("figures", idea),
        rec("paper", idea, compiled=True),
        rec("model_call", idea),  # trace events do not move an idea
        rec("meta_review", idea),
    ]


def test_every_idea_reviewed_is_completed() -> None:
    status, reason, _ = judge(*finished("a"), *finished("b"))
    assert status == "completed" and "2 idea(s), 2 paper(s)" in reason


def test_writer_failure_without_any_paper_is_failed_with_role_and_cause() -> None:
    status, reason, outcomes = judge(
        rec("idea", "a"),
        rec("figures", "a"),
        rec("role_failed", "a", role="writer", error="the paper did not compile and there is no earlier PDF"),
    )
    assert status == "failed"
    assert reason == "no paper came out: a: writer: the paper did not compile and there is no earlier PDF (no paper)"
    assert outcomes.ideas()["a"].outcome == "failed" and outcomes.ideas()["a"].stage == "figures"


def test_one_of_two_ideas_failing_is_partial() -> None:
    status, reason, _ = judge(
        *finished("a"), rec("idea", "b"), rec("role_failed", "b", role="coder", error="EditError: no blocks")
    )
    assert status == "partial" and reason.startswith("1 of 2 idea(s) did not reach the end: b: coder: EditError")


def test_ideator_failure_with_no_idea_is_failed() -> None:
    status, reason, _ = judge(rec("role_failed", role="ideator", error="ideator: no valid IdeaSpec JSON"))
    assert (status, reason) == ("failed", "no idea came out: ideator: no valid IdeaSpec JSON")


def test_only_not_novel_ideas_give_no_paper_and_fail() -> None:
    status, reason, outcomes = judge(rec("idea", "a"), rec("novelty", "a", verdict="not novel", proceed=False))
    assert status == "failed" and "a: judged not novel" in reason
    assert outcomes.ideas()["a"].outcome == "dropped"


def test_a_dropped_idea_beside_a_finished_one_is_completed() -> None:
    status, _, _ = judge(*finished("a"), rec("idea", "b"), rec("novelty", "b", verdict="not novel", proceed=False))
    assert status == "completed"


def test_an_idea_that_stops_short_without_a_failure_is_partial() -> None:
    status, reason, _ = judge(*finished("a"), rec("idea", "b"), rec("paper", "b"))
    assert status == "partial" and "b: stopped after paper, before meta_review" in reason


def test_one_reviewer_failing_while_the_panel_goes_on_is_not_a_failure() -> None:
    records = finished("a")
    records.insert(4, rec("role_failed", "a", role="reviewer_panel/reviewer_2", error="bad JSON"))
    status, _, outcomes = judge(*records)
    assert status == "completed" and "reviewer_panel/reviewer_2: bad JSON" in outcomes.ideas()["a"].detail


def test_swarm_without_a_writer_needs_no_paper() -> None:
    roles: list[list[str] | None] = [["idea"], ["critique"]]
    assert judge(rec("idea", "a"), rec("critique", "a"), roles=roles)[0] == "completed"
    status, _, _ = judge(rec("idea", "a"), rec("role_failed", "a", role="skeptic", error="x"), roles=roles)
    assert status == "failed"


def test_ideas_dropped_as_not_novel_end_a_swarm_without_a_writer() -> None:
    roles: list[list[str] | None] = [["idea"], ["novelty"], ["plan", "code_change"]]
    status, _, outcomes = judge(rec("idea", "a"), rec("novelty", "a", verdict="unknown", proceed=False), roles=roles)
    assert status == "completed" and outcomes.ideas()["a"].outcome == "dropped"


def test_a_paper_whose_writer_gave_up_at_a_stage_counts_and_says_so() -> None:
    gave_up = "audit_fix/Results (fix round 2 of 2): scripted replies for role 'writer' exhausted after 11 replies"
    writer = [["idea"], ["figures"], ["paper"]]  # a swarm that ends at the paper
    status, reason, outcomes = judge(
        rec("idea", "a"), rec("figures", "a"), rec("paper", "a", gave_up=gave_up), roles=writer
    )
    assert status == "completed" and "1 paper(s)" in reason
    idea = outcomes.ideas()["a"]
    assert (idea.outcome, idea.papers) == ("done", 1) and idea.detail == f"1 paper(s), writer gave up at {gave_up}"
    _, _, later = judge(
        rec("idea", "a"), rec("paper", "a", gave_up=gave_up), rec("paper", "a", gave_up=""), roles=writer
    )
    assert later.ideas()["a"].detail == "2 paper(s)"  # the last paper's writing finished
