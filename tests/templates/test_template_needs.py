"""A template's Python needs, read statically: the import scan, the module -> distribution mapping, a template's
requirements.txt (which wins), and the swarm YAML's `sandbox.packages` / `sandbox.requirements`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from needs_support import FIXTURES, write_wheel
from template_support import TEMPLATES, status, write_minimal_template

from sciswarm.sandboxes.config import SandboxConfig
from sciswarm.sandboxes.needs import EnvFacts, Need, Needs, UnmetNeeds, missing_from
from sciswarm.templates import check_template
from sciswarm.templates.imports import scan_imports
from sciswarm.templates.needs import template_needs

SCRIPT = """\
import os, sys, json
import collections.abc
import __future__
import numpy as np
import sklearn.metrics
from PIL import Image
import cv2, yaml
from skimage import filters
from . import sibling
from .pkg import thing
import helper
from mypkg.sub import f
import localdir
try:
    import wandb
except ImportError:
    wandb = None
try:
    import scipy
finally:
    pass


def later():
    import einops.layers
    return einops
"""


@pytest.fixture
def scanned(tmp_path: Path) -> Path:
    root = write_minimal_template(tmp_path / "t", experiment=SCRIPT)
    (root / "mypkg").mkdir()
    (root / "mypkg" / "__init__.py").write_text("")
    (root / "localdir").mkdir()  # a namespace package: still the template's own
    (root / "tools").mkdir()
    (root / "tools" / "prep.py").write_text("import toolhelper\nimport pandas as pd\n")
    (root / "tools" / "toolhelper.py").write_text("import tqdm\n")
    (root / "broken.py").write_text("print 'python 2'\n")
    (root / "data" / "corpus").mkdir(parents=True)  # the data step: run on the host, its imports are not needs
    (root / "data" / "corpus" / "prepare.py").write_text("import requests\nimport tiktoken\n")
    return root


def test_the_scan_leaves_out_the_standard_library_own_modules_and_optional_imports(scanned: Path) -> None:
    scan = scan_imports(scanned)
    expected = ["PIL", "cv2", "einops", "matplotlib", "numpy", "pandas", "scipy", "skimage", "sklearn", "tqdm", "yaml"]
    assert sorted(scan.modules) == expected
    assert scan.modules["numpy"] == ["experiment.py"]
    assert scan.modules["tqdm"] == ["tools/toolhelper.py"]  # toolhelper is own (beside prep.py), tqdm is not
    assert scan.optional == {"wandb": ["experiment.py"]}  # try/except ImportError; try/finally is not optional
    assert scan.unreadable == ["broken.py"]


def test_imports_map_to_distributions(scanned: Path) -> None:
    needs = template_needs(scanned)
    assert needs.source == "imports"
    got = {n.requirement: n.modules for n in needs.items}
    assert got["scikit-learn"] == ("sklearn",)
    assert got["pillow"] == ("PIL",)
    assert got["opencv-python-headless"] == ("cv2",)
    assert got["pyyaml"] == ("yaml",)
    assert got["scikit-image"] == ("skimage",)
    assert got["einops"] == ("einops",)  # no entry: the module's own name
    assert needs.for_module("sklearn") is not None
    assert needs.for_module("sklearn").origin == "experiment.py"  # type: ignore[union-attr]
    assert any("wandb" in note for note in needs.notes)


def test_the_yaml_table_extends_and_overrides_the_mapping(scanned: Path) -> None:
    config = SandboxConfig(packages={"sklearn": "scikit-learn>=1.4", "cv2": "opencv-contrib-python", "tqdm": None})
    got = {n.requirement: n.modules for n in template_needs(scanned, config).items}
    assert got["scikit-learn>=1.4"] == ("sklearn",)
    assert got["opencv-contrib-python"] == ("cv2",)
    assert "tqdm" not in got and all("tqdm" not in m for m in got.values())


def test_requirements_txt_wins_over_the_imports(tmp_path: Path) -> None:
    root = write_minimal_template(tmp_path / "t", experiment=SCRIPT)
    wheel = write_wheel(root / "wheels", "npeet", "0.1", {"npeet/__init__.py": ""})
    (root / "requirements.txt").write_text(
        "# pinned as the authors ran it\nscipy==1.17.1  # solver\n-r more.txt\n"
        "--extra-index-url https://example.org/simple\n./wheels/npeet-0.1-py3-none-any.whl\n"
    )
    (root / "more.txt").write_text("einops\n")
    needs = template_needs(root)
    assert needs.source == "requirements.txt"
    assert [n.requirement for n in needs.items] == ["scipy==1.17.1", "einops", str(wheel)]
    assert all(not n.modules for n in needs.items)
    assert [n.name for n in needs.items] == ["scipy", "einops", "npeet"]
    assert any("--extra-index-url" in note for note in needs.notes)
    assert needs.beyond_experiment_image


def test_a_requirements_txt_naming_a_missing_file_is_an_unmet_need(tmp_path: Path) -> None:
    root = write_minimal_template(tmp_path / "t")
    (root / "requirements.txt").write_text("./wheels/gone-1.0-py3-none-any.whl\n")
    with pytest.raises(UnmetNeeds, match=r"gone-1\.0-py3-none-any\.whl"):
        template_needs(root)
    report = check_template(root, run_baseline=False)
    assert status(report, "python needs") == "fail"


def test_yaml_requirements_add_pins_and_wheels_that_take_over_modules(tmp_path: Path) -> None:
    root = shutil.copytree(FIXTURES / "npeet_template", tmp_path / "npeet_template")
    write_wheel(
        tmp_path / "cfg" / "wheels", "npeet", "0.1", {"npeet/__init__.py": "", "npeet/entropy_estimators.py": ""}
    )
    section = SandboxConfig(requirements=["./wheels/npeet-0.1-py3-none-any.whl", "numpy==2.4.6"])
    config = section.with_paths_from(tmp_path / "cfg")
    assert config.requirements[0] == str(tmp_path / "cfg" / "wheels" / "npeet-0.1-py3-none-any.whl")
    items = {n.requirement: n for n in template_needs(root, config).items}
    assert set(items) == {"matplotlib", config.requirements[0], "numpy==2.4.6"}
    assert items[config.requirements[0]].modules == ("npeet",)  # the wheel provides the module
    assert items["numpy==2.4.6"].modules == ("numpy",)
    with pytest.raises(UnmetNeeds, match="does not exist"):
        template_needs(root, SandboxConfig(requirements=[str(tmp_path / "nowhere.whl")]))


def test_a_vendored_module_is_the_templates_own(tmp_path: Path) -> None:
    root = shutil.copytree(FIXTURES / "npeet_template", tmp_path / "npeet_template")
    assert template_needs(root).for_module("npeet") is not None
    (root / "npeet").mkdir()
    (root / "npeet" / "entropy_estimators.py").write_text("def mi(x, y):\n    return 0.0\n")
    assert template_needs(root).for_module("npeet") is None


def test_the_shipped_templates_need_only_what_the_experiment_image_has() -> None:
    for name in ("2d_diffusion", "grokking"):
        needs = template_needs(TEMPLATES / name)
        assert needs.modules == ["matplotlib", "numpy", "torch"]
        assert not needs.beyond_experiment_image
    assert template_needs(FIXTURES / "einops_template").beyond_experiment_image
    assert not template_needs(FIXTURES / "tiny_template")  # standard library and its own toylib only


def test_what_an_environment_has_is_not_needed_again() -> None:
    facts = EnvFacts("3.11", {"numpy": "2.4.6", "torch": "2.13.0+cpu"}, frozenset({"numpy", "torch", "PIL"}))
    needs = Needs(
        (Need("numpy", ("numpy",)), Need("pillow", ("PIL",)), Need("einops", ("einops",)), Need("torch==2.0.1")),
        "imports",
    )
    missing, notes = missing_from(needs, facts)
    assert [n.requirement for n in missing] == ["einops"]
    assert notes == ["torch==2.0.1: kept torch 2.13.0+cpu of the environment"]


def test_check_reports_the_needs_without_running_anything() -> None:
    report = check_template(FIXTURES / "einops_template", run_baseline=False)
    row = next(c for c in report.checks if c.name == "python needs")
    assert row.status == "pass"
    assert row.detail.startswith("einops, matplotlib, numpy (from imports)")
