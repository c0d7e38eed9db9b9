from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sciswarm.run.config import ConfigError, load_config
from sciswarm.run.roles import resolve_roles

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/custom_role/swarm.yaml"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "swarm.yaml"
    p.write_text(text)
    return p


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sciswarm", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=120,
    )


def test_example_loads_with_paths_relative_to_the_file() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.models["default"].model == "scripted"
    assert cfg.path(cfg.models["default"].script or "") == EXAMPLE.parent / "replies.yaml"
    roles = resolve_roles(cfg)
    assert [r.spec.name for r in roles] == ["ideator", "skeptic"]
    assert roles[1].subscribes == ["idea"]


def test_overrides_by_key_path_and_role_name() -> None:
    cfg = load_config(EXAMPLE, ["roles.ideator.params.num_ideas=1", "budget.max_tokens=10", "flow.timeout_s=5"])
    assert cfg.role("ideator").params["num_ideas"] == 1
    assert cfg.budget.max_tokens == 10 and cfg.flow.timeout_s == 5


def test_bad_override_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no list item named 'nobody'"):
        load_config(EXAMPLE, ["roles.nobody.params.x=1"])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("models: {default: scripted}\nroles: [{name: ideator}]", "a scripted model needs 'script"),
        (
            "models: {default: openai/gpt-4o}\nroles: [{name: ideator, model: big}]",
            "roles[0] (ideator).model: no model named 'big' (models defines: default)",
        ),
        (
            "models: {default: openai/gpt-4o}\nroles: [{name: ideator}]\nbudget: {max_tokens: lots}",
            "budget.max_tokens: Input should be a valid integer",
        ),
        (
            "models: {default: openai/gpt-4o}\nroles: [{name: ideator}]\nflow: {speed: 3}",
            "flow.speed: unknown field",
        ),
        ("roles: [{name: ideator}]", "models: Field required"),
        ("models: {default: openai/gpt-4o}\nroles: [{name: ideator}\n", "not valid YAML at line"),
        ("- just\n- a list", "expected a YAML mapping at the top level"),
    ],
)
def test_invalid_configs_name_file_field_and_expectation(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_unknown_role_and_bad_params_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "models: {default: openai/gpt-4o}\n"
        "roles:\n  - {name: poet}\n  - {name: ideator, params: {num_ideas: many, colour: red}}\n",
    )
    with pytest.raises(ConfigError) as info:
        resolve_roles(load_config(path), str(path))
    text = str(info.value)
    assert "roles[0] (poet).use: unknown role 'poet'" in text and "ideator" in text
    assert "roles[1] (ideator).params.num_ideas: Input should be a valid integer" in text
    assert "params.colour: Extra inputs are not permitted" in text


@pytest.mark.parametrize(
    "body",
    [
        "models: {default: openai/gpt-4o}\nroles: [{name: nosuchrole}]",
        "models: {default: openai/gpt-4o}\nroles: [{name: ideator, params: {num_ideas: x}}]",
        "models: {default: openai/gpt-4o}\nroles: [{name: ideator, model: missing}]",
    ],
)
def test_cli_exits_nonzero_with_one_paragraph_no_traceback(tmp_path: Path, body: str) -> None:
    path = write(tmp_path, body)
    proc = cli("run", str(path), "-o", f"runs_dir={tmp_path / 'runs'}")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "error:" in proc.stderr and str(path.name) in proc.stderr
    assert "\n\n" not in proc.stderr.strip()
    assert not (tmp_path / "runs").exists()  # nothing half-created


def test_missing_api_key_fails_before_a_run_dir_is_made(tmp_path: Path) -> None:
    proc = cli(
        "run",
        str(ROOT / "configs/default.yaml"),
        "-o",
        f"runs_dir={tmp_path / 'runs'}",
        "-o",
        "models.default.api_key_env=SCISWARM_TEST_UNSET_KEY",
    )
    assert proc.returncode == 2 and "SCISWARM_TEST_UNSET_KEY is not set" in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_the_cluster_config_loads_and_its_commented_options_are_real(tmp_path: Path) -> None:
    """configs/cluster.yaml: the Ray executor with a GPU per run, nodes and the shared filesystem explained in its
    comments; the options it shows commented out (shared_dir, max_parallel_runs) load once uncommented."""
    path = ROOT / "configs" / "cluster.yaml"
    cfg = load_config(path)
    assert (cfg.executor.kind, cfg.executor.address, cfg.executor.shared_dir) == ("ray", "auto", None)
    assert cfg.sandbox.gpus_per_run == 1 and cfg.sandbox.cpus == 4
    text = path.read_text()
    for topic in ("gpus_per_run: 1  ", "ray start --head", "ray start --address=", "Nodes are not listed", "bwrap"):
        assert topic in text, topic
    assert "# shared_dir: /shared/sciswarm" in text and "NFS" in text
    opened = re.sub(r"^(\s*)# (shared_dir|max_parallel_runs): (\S+)", r"\1\2: \3", text, flags=re.MULTILINE)
    opened = opened.replace("template: ../templates/", f"template: {ROOT}/templates/")
    assert opened != text
    cfg = load_config(write(tmp_path, opened))
    assert cfg.executor.shared_dir == "/shared/sciswarm" and cfg.sandbox.max_parallel_runs == 16
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    proc = subprocess.run(
        [sys.executable, "-m", "sciswarm", "run", str(path), "-o", f"runs_dir={tmp_path / 'runs'}"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 2 and "ANTHROPIC_API_KEY is not set" in proc.stderr, proc.stderr  # loaded, then stopped
    assert not (tmp_path / "runs").exists()


def test_shipped_configs_validate() -> None:
    for name in ("default.yaml", "demo.yaml"):
        cfg = load_config(ROOT / "configs" / name)
        assert cfg.template and cfg.path(cfg.template).joinpath("experiment.py").exists()
        assert {r.spec.name for r in resolve_roles(cfg)} == {
            "ideator",
            "novelty_critic",
            "coder",
            "experimenter",
            "writer",
            "reviewer_panel",
        }
