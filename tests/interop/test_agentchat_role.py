"""The `agentchat` role in real swarms: SwarmRunner on the real bus, LiteLLM over HTTP to a fake OpenAI
server on 127.0.0.1 (or the scripted model), AgentChat's own agents, tools that really run, the real sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_support import Swarm, idea_reply
from interop_support import TOOL_LOG
from support.fake_openai import FakeOpenAI

from sciswarm.agents.registry import available, resolve
from sciswarm.interop.agentchat import AgentChatRole
from sciswarm.run.config import ConfigError, load_config
from sciswarm.run.runner import SwarmRunner

SYSTEM = "You are the idea-checker of this swarm: measure the idea's name with your tool, then judge it."
FINAL = "Checked: the name is MEASURED-5-CHARS long, short enough. Feasible."


def ideator(**params: Any) -> dict[str, Any]:
    return {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1, **params}}


def checker(**params: Any) -> dict[str, Any]:
    return {"name": "checker", "use": "agentchat", "subscribes": ["idea"], "params": params}


def test_agentchat_is_a_built_in_role() -> None:
    assert available()["agentchat"][0] == "built-in"
    assert resolve("agentchat") is AgentChatRole


async def test_assistant_agent_with_a_tool_runs_as_a_swarm_role(
    work: Path, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool_log = work / "tool.log"
    monkeypatch.setenv(TOOL_LOG, str(tool_log))
    server.add(
        {"match": "Propose the next", "content": idea_reply("alpha")},
        {"match": "idea-checker", "tool_calls": [{"name": "measure", "arguments": '{"text": "alpha"}'}]},
        {"match": "MEASURED-5-CHARS", "content": FINAL},  # only a request carrying the tool's result gets it
    )
    roles = [ideator(), checker(system_message=SYSTEM, tools=["interop_support:measure"])]
    out = await Swarm(work, work).run(roles, api_base=server.api_base, template=False)

    assert out.status == "completed", out.meta["reason"]
    assert tool_log.read_text() == "measure('alpha')\n"  # the Python tool really ran, once
    asks = [r for r in server.requests if "idea-checker" in json.dumps(r["messages"])]
    assert len(asks) == 2 and asks[0]["tools"][0]["function"]["name"] == "measure"
    assert asks[0]["messages"][0] == {"role": "system", "content": SYSTEM}
    assert "idea 'alpha'" in asks[0]["messages"][1]["content"]  # the task: the idea's summary and JSON
    tool_reply = [m for m in asks[1]["messages"] if m["role"] == "tool"]
    assert tool_reply == [{"role": "tool", "tool_call_id": "call_0", "content": "MEASURED-5-CHARS"}]

    (idea,) = out.of("idea")
    (note,) = out.of("note")
    assert note["sender"] == "checker" and note["idea_id"] == idea["idea_id"] == "alpha"
    assert note["parent_id"] == idea["id"] and note["text"] == FINAL
    (call,) = note["data"]["tool_calls"]
    assert call == {
        "name": "measure",
        "arguments": '{"text": "alpha"}',
        "result": "MEASURED-5-CHARS",
        "is_error": False,
    }

    calls = out.calls("checker")
    assert len(calls) == 2 and all(c["ok"] and not c["scripted"] for c in calls)
    assert all(c["idea_id"] == "alpha" and c["stage"] == "agentchat" for c in calls)
    assert all(c["model"] == "openai/gpt-4o-mini" for c in calls)
    assert all(c["prompt_tokens"] > 0 and c["completion_tokens"] > 0 and c["cost_usd"] > 0 for c in calls)
    totals = out.meta["totals"]
    assert totals["by_role"]["checker"]["calls"] == 2 and totals["by_stage"]["checker/agentchat"]["cost_usd"] > 0
    handled = out.of("handled", sender="checker")
    assert len(handled) == 1 and handled[0]["ok"] and handled[0]["model_calls"] == 2


async def test_a_factory_team_runs_its_code_in_the_role_lab_on_the_scripted_model(work: Path) -> None:
    code = "```python\nprint('agentchat says', 6 * 7)\n```"
    replies = {"ideator": [idea_reply("alpha")], "coder": [code]}
    roles = [ideator(), {**checker(agent="interop_support:coding_team"), "name": "coder"}]
    out = await Swarm(work, work).run(roles, replies=replies, template=False, sandbox={"timeout_s": 20})

    assert out.status == "completed", out.meta["reason"]
    (note,) = out.of("note")
    assert note["sender"] == "coder" and note["idea_id"] == "alpha"
    assert note["text"] == "agentchat says 42" and note["data"]["agent"] == "RoundRobinGroupChat"
    (run,) = out.of("sandbox_exec", sender="coder")  # the lab recorded the run, under the swarm's limits
    assert run["exit_code"] == 0 and run["command"][0] == "python3" and run["provider"] == "local"
    work_dir = out.idea_dir("alpha") / "agentchat" / "coder"
    assert any(work_dir.glob("tmp_code_*.py")) and (out.idea_dir("alpha") / "logs/agentchat-coder").is_dir()
    calls = out.calls("coder")
    assert len(calls) == 1 and calls[0]["scripted"] and calls[0]["stage"] == "agentchat"


async def test_expected_failures_are_one_line_role_failures(work: Path) -> None:
    replies = {"ideator": [idea_reply("alpha")], "mute": [""], "factory": ["Short and fine."]}
    roles = [
        ideator(),
        {**checker(), "name": "mute"},  # the scripted model answers nothing
        {**checker(tools=["interop_support:measure"]), "name": "toolish"},  # tools on a text-only model
        {**checker(agent="interop_support:plain_agent"), "name": "factory"},
    ]
    out = await Swarm(work, work).run(roles, replies=replies, template=False)

    assert out.status == "failed"  # its only idea failed (in two roles)
    assert out.meta["reason"] == "no idea reached its end: alpha: mute: the agent gave no reply (stop reason: none)"
    failed = {r["role"]: r for r in out.of("role_failed")}
    assert set(failed) == {"mute", "toolish"}
    assert failed["mute"]["error"].startswith("the agent gave no reply")
    assert "tools need a model that calls functions" in failed["toolish"]["error"]
    assert all("AgentChatError" in r["traceback"] and r["on_kind"] == "idea" for r in failed.values())
    assert not any("Traceback" in text for text in out.logs("error"))  # expected: no traceback on the terminal
    (note,) = out.of("note")
    assert note["sender"] == "factory" and note["text"] == "Short and fine." and note["data"]["tool_calls"] == []


def test_bad_tool_and_agent_paths_stop_before_anything_runs(work: Path) -> None:
    swarm = Swarm(work, work)
    path = swarm.write_config([ideator(), checker(tools=["interop_support:nope"], agent="no_such_module:f")])
    with pytest.raises(ConfigError) as err:
        SwarmRunner(load_config(path))
    assert "params.tools: Value error, module 'interop_support' has no attribute 'nope'" in str(err.value)
    assert "params.agent: Value error, cannot import module 'no_such_module'" in str(err.value)


async def test_a_model_call_that_fails_for_good_fails_the_role_cleanly(work: Path, server: FakeOpenAI) -> None:
    server.add(
        {"match": "Propose the next", "content": idea_reply("alpha")},
        {"match": "idea-checker", "status": 400, "message": "bad request, deliberately"},
    )
    out = await Swarm(work, work).run(
        [ideator(), checker(system_message=SYSTEM)], api_base=server.api_base, template=False
    )
    (failed,) = out.of("role_failed")
    assert failed["role"] == "checker" and "BadRequestError" in failed["error"] and "deliberately" in failed["error"]
    assert "ModelCallError" in failed["traceback"] and not any("Traceback" in t for t in out.logs("error"))
    (call,) = out.calls("checker")
    assert not call["ok"] and call["stage"] == "agentchat" and call["idea_id"] == "alpha"
