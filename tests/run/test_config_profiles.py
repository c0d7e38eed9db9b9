"""Profiles: named sets of overrides in the swarm YAML, chosen with ``profile: NAME`` or ``-o profile=NAME``."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciswarm.agents.tree.params import TreeParams
from sciswarm.run.config import ConfigError, load_config
from sciswarm.run.roles import resolve_roles

ROOT = Path(__file__).resolve().parents[2]
BODY = """\
models: {default: {model: scripted, script: a.yaml}}
roles:
  - name: ideator
    params: {num_ideas: 3}
flow: {max_ideas: 5}
profiles:
  small:
    roles.ideator.params.num_ideas: 1
    flow.max_ideas: 1
  quick:
    flow.timeout_s: 60
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "swarm.yaml"
    p.write_text(text)
    return p


def test_a_profile_chosen_on_the_command_line_is_applied_and_recorded(tmp_path: Path) -> None:
    plain = load_config(write(tmp_path, BODY))
    assert plain.role("ideator").params["num_ideas"] == 3 and plain.profile is None
    cfg = load_config(write(tmp_path, BODY), ["profile=small"])
    assert cfg.role("ideator").params["num_ideas"] == 1 and cfg.flow.max_ideas == 1
    assert cfg.profile == "small" and cfg.flow.timeout_s is None


def test_profiles_stack_in_order_and_the_command_line_wins_over_them(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BODY), ["profile=[small, quick]", "flow.max_ideas=2"])
    assert cfg.flow.max_ideas == 2  # -o beats the profile, wherever it stands on the line
    assert cfg.role("ideator").params["num_ideas"] == 1 and cfg.flow.timeout_s == 60


def test_a_profile_named_in_the_file_applies_without_overrides(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BODY + "profile: quick\n"))
    assert cfg.flow.timeout_s == 60


@pytest.mark.parametrize(
    ("extra", "override", "message"),
    [
        ("", "profile=big", "profile 'big' is not defined (profiles: quick, small)"),
        ("", "profile={a: 1}", "profile must be a profile name or a list of names"),
        ("profiles: {bad: [1, 2]}\n", "profile=bad", "profiles must map each profile name to a mapping"),
        ("profiles: {bad: {roles.nobody.x: 1}}\n", "profile=bad", "profiles.bad: override: no list item named"),
    ],
)
def test_a_bad_profile_is_a_clear_error(tmp_path: Path, extra: str, override: str, message: str) -> None:
    body = BODY if not extra else BODY.split("profiles:")[0] + extra
    with pytest.raises(ConfigError, match="swarm.yaml: " + message.replace("(", r"\(").replace(")", r"\)")):
        load_config(write(tmp_path, body), [override])


def test_the_demo_switches_to_a_small_tree_with_one_override() -> None:
    cfg = load_config(ROOT / "configs/demo.yaml", ["profile=tree"])
    coder = cfg.role("coder").params
    assert coder["strategy"] == "tree"
    tree = TreeParams.model_validate(coder["tree"])
    assert tree.stages == ["implementation"] and tree.budget("implementation") == 3
    assert tree.objective is not None and tree.objective.metric == "kl_divergence"
    assert cfg.path(cfg.models["default"].script or "").name == "tree_replies.yaml"
    assert cfg.path(cfg.models["default"].script or "").exists()
    assert {r.spec.name for r in resolve_roles(cfg)} >= {"ideator", "novelty_critic", "coder", "experimenter"}
