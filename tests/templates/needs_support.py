"""Helpers for the Python-needs tests: a hand-written wheel, a swarm YAML around a template."""

from __future__ import annotations

import zipfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# a stand-in for NPEET's estimator, so the wheel way out can be run for real (written here, not NPEET's code)
NPEET_MI = """\
import numpy as np


def mi(x, y):
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    r = np.corrcoef(x, y)[0, 1]
    return float(-0.5 * np.log(1.0 - r * r))
"""


def write_wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A minimal pure-Python wheel, written by hand (pip accepts it as a local requirement)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    meta = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: sciswarm-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    entries = {**files, **meta}
    record = "".join(f"{p},,\n" for p in entries) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as zf:
        for p, text in {**entries, f"{info}/RECORD": record}.items():
            zf.writestr(zipfile.ZipInfo(p, date_time=(2024, 1, 1, 0, 0, 0)), text)  # same bytes every time
    return path


def write_swarm_yaml(folder: Path, template: Path, sandbox: str) -> Path:
    """A swarm YAML with a scripted model that has no replies: any model call would fail the run."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "none.yaml").write_text("{}\n")
    path = folder / "swarm.yaml"
    path.write_text(
        f"name: needs-test\nruns_dir: {folder / 'runs'}\ntemplate: {template}\n"
        "models: {default: {model: scripted, script: none.yaml}}\n"
        f"roles: [{{name: ideator}}]\nsandbox: {sandbox}\n"
    )
    return path
