"""Meeting a template's Python needs without docker: the plan of a derived image (CPU and CUDA torch), the pip
command, pip's own answers (real pip, a private cache), and the local provider's check of its interpreter."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sciswarm.sandboxes.derived_image import derived_tag, plan_needs, render_needs_dockerfile, torch_requirement
from sciswarm.sandboxes.distributions import distribution_for, requirement_name, wheel_version
from sciswarm.sandboxes.factory import make_sandbox
from sciswarm.sandboxes.needs import EnvFacts, Need, Needs, UnmetNeeds
from sciswarm.sandboxes.needs_local import check_local_needs
from sciswarm.sandboxes.wheels import PipFailure, not_found_in, pip_argv, prepare_needs_wheelhouse

FACTS = EnvFacts(
    "3.11", {"numpy": "2.4.6", "torch": "2.13.0+cpu", "matplotlib": "3.11.2"}, frozenset({"numpy", "torch"})
)
EINOPS = Needs((Need("einops", ("einops",), "experiment.py"), Need("numpy", ("numpy",), "experiment.py")), "imports")
NPEET = Needs((Need("npeet", ("npeet",), "experiment.py"),), "imports")


def test_a_plan_adds_only_what_the_image_lacks_and_keeps_cpu_torch() -> None:
    plan = plan_needs(EINOPS, FACTS, "sha256:base")
    assert plan.requirements == ["einops"]
    assert plan.unpinned == []
    assert "uninstall" not in render_needs_dockerfile(False)
    nothing = plan_needs(Needs((Need("numpy", ("numpy",)),), "imports"), FACTS, "sha256:base")
    assert nothing.requirements == []  # the experiment image itself is used


def test_the_cuda_choice_replaces_torch_with_the_same_versions_cuda_build() -> None:
    cuda = Needs(EINOPS.items, "imports", torch="cuda", torch_index_url="https://download.pytorch.org/whl/cu128")
    plan = plan_needs(cuda, FACTS, "sha256:base")
    assert plan.requirements == ["einops", "torch==2.13.0,!=2.13.0+cpu"]
    assert plan.unpinned == ["torch"]
    assert "pip uninstall -y --disable-pip-version-check torch" in render_needs_dockerfile(True)
    assert torch_requirement("2.13.0") == "torch==2.13.0"
    assert plan.digest != plan_needs(EINOPS, FACTS, "sha256:base").digest
    argv = pip_argv(
        plan.requirements,
        python_version="3.11",
        dest=Path("/w"),
        extra_index_url=cuda.torch_index_url,
        host_version="3.11",
    )
    assert argv[argv.index("--extra-index-url") + 1] == "https://download.pytorch.org/whl/cu128"
    assert argv[-2:] == ["einops", "torch==2.13.0,!=2.13.0+cpu"]


def test_the_tag_and_hash_follow_the_requirement_set_and_the_base() -> None:
    a = plan_needs(EINOPS, FACTS, "sha256:base")
    assert a.digest == plan_needs(EINOPS, FACTS, "sha256:base").digest
    assert a.digest != plan_needs(EINOPS, FACTS, "sha256:other").digest
    assert a.digest != plan_needs(NPEET, FACTS, "sha256:base").digest
    assert derived_tag("sciswarm-exp:latest", a.digest) == f"sciswarm-exp-needs:{a.digest}"
    assert derived_tag("localhost:5000/lab/exp:1", "abc") == "localhost:5000/lab/exp-needs:abc"


def test_pip_argv_for_the_same_and_for_another_python() -> None:
    same = pip_argv(["einops"], python_version="3.11", dest=Path("/w"), host_version="3.11")
    assert same[4:8] == ["wheel", "--prefer-binary", "--wheel-dir", "/w"]
    other = pip_argv(
        ["einops"],
        python_version="3.12",
        dest=Path("/w"),
        constraints=Path("/c.txt"),
        find_links=[Path("/a"), Path("/b")],
        host_version="3.11",
    )
    assert other[4:9] == ["download", "--only-binary=:all:", "--python-version", "3.12", "--dest"]
    assert other[other.index("--constraint") + 1] == "/c.txt"
    assert [other[i + 1] for i, x in enumerate(other) if x == "--find-links"] == ["/a", "/b"]
    assert "--extra-index-url" not in other


def test_names_of_distributions_and_wheels() -> None:
    assert requirement_name("Scikit_Learn>=1.4; python_version>'3'") == "scikit-learn"
    assert requirement_name("/x/wheels/npeet-0.1-py3-none-any.whl") == "npeet"
    assert requirement_name("./dist/my_pkg-1.0.tar.gz") == "my-pkg"
    assert requirement_name("git+https://example.org/npeet.git#egg=npeet") == "npeet"
    assert wheel_version("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl") == ("torch", "2.13.0+cpu")
    assert distribution_for("sklearn") == "scikit-learn"
    assert distribution_for("einops") == "einops"
    assert distribution_for("sklearn", {"sklearn": None}) is None


def test_pips_not_found_lines_are_read() -> None:
    out = "ERROR: Could not find a version that satisfies the requirement npeet (from versions: none)\n"
    out += "ERROR: No matching distribution found for npeet\n"
    assert not_found_in(out) == ["npeet"]


@pytest.mark.slow
def test_real_pip_finds_no_npeet(tmp_path: Path) -> None:
    with pytest.raises(PipFailure) as caught:
        prepare_needs_wheelhouse(["npeet"], python_version="3.11", installed={}, cache_dir=tmp_path)
    assert caught.value.not_found == ["npeet"]
    assert not (tmp_path / "wheelhouse").exists() or not any((tmp_path / "wheelhouse").glob("needs-*"))


@pytest.mark.slow
def test_real_pip_wheelhouse_holds_only_what_the_image_lacks(tmp_path: Path) -> None:
    """scipy depends on numpy: pinned to the image's numpy, whose wheel is then left out."""
    installed = {"numpy": "2.4.6"}
    folder = prepare_needs_wheelhouse(["scipy"], python_version="3.11", installed=installed, cache_dir=tmp_path)
    wheels = sorted(p.name for p in folder.glob("*.whl"))
    assert len(wheels) == 1 and wheels[0].startswith("scipy-"), wheels
    again = prepare_needs_wheelhouse(["scipy"], python_version="3.11", installed=installed, cache_dir=tmp_path)
    assert again == folder  # cached per requirement set


def test_the_local_provider_says_what_its_python_lacks() -> None:
    assert check_local_needs(sys.executable, Needs((Need("numpy", ("numpy",)),), "imports")) == []
    with pytest.raises(UnmetNeeds) as caught:
        check_local_needs(sys.executable, NPEET)
    text = str(caught.value)
    assert "module npeet (imported by experiment.py; pip install npeet)" in text
    assert sys.executable in text and "docker provider" in text


def test_make_sandbox_local_refuses_unmet_needs_before_running_anything() -> None:
    with pytest.raises(UnmetNeeds, match="npeet"):
        make_sandbox("local", needs=NPEET, on_log=lambda level, text: None)


def test_a_wheels_hash_is_its_name_and_content_not_its_folder(tmp_path: Path) -> None:
    from sciswarm.sandboxes.needs import inputs_digest

    a, b = tmp_path / "a" / "x-1.0-py3-none-any.whl", tmp_path / "b" / "x-1.0-py3-none-any.whl"
    for path in (a, b):
        path.parent.mkdir()
        path.write_bytes(b"same")
    assert inputs_digest([str(a)]) == inputs_digest([str(b)])
    b.write_bytes(b"other")
    assert inputs_digest([str(a)]) != inputs_digest([str(b)])
