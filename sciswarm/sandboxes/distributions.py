"""Import names and the distributions that provide them: the built-in table, requirement names, wheel files.

Most distributions are installed under their own name (`import einops` needs `einops`); the table lists the
common exceptions. The swarm YAML's `sandbox.packages` extends and overrides it.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

from sciswarm.sandboxes.config import is_path_requirement

# module -> distribution, where they differ (or where the usual distribution is not the obvious one)
MODULE_DISTRIBUTIONS: dict[str, str] = {
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "PIL": "pillow",
    "cv2": "opencv-python-headless",
    "yaml": "pyyaml",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "attr": "attrs",
    "Bio": "biopython",
    "Crypto": "pycryptodome",
    "OpenSSL": "pyopenssl",
    "jwt": "pyjwt",
    "serial": "pyserial",
    "dotenv": "python-dotenv",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "magic": "python-magic",
    "git": "gitpython",
    "fitz": "pymupdf",
    "faiss": "faiss-cpu",
    "umap": "umap-learn",
    "community": "python-louvain",
    "pytorch_lightning": "pytorch-lightning",
    "torch_geometric": "torch-geometric",
    "mace": "mace-torch",
    "tensorflow_datasets": "tensorflow-datasets",
    "Levenshtein": "levenshtein",
    "mpl_toolkits": "matplotlib",
    "pylab": "matplotlib",
    "pkg_resources": "setuptools",
    "absl": "absl-py",
    "tensorboardX": "tensorboardx",
    "wx": "wxpython",
    "gi": "pygobject",
    "MySQLdb": "mysqlclient",
    "psycopg2": "psycopg2-binary",
    "zmq": "pyzmq",
    "jose": "python-jose",
    "ruamel": "ruamel.yaml",
}

# top-level modules the experiment image (numpy, matplotlib, CPU torch and their dependencies) already has: a
# template importing only these needs nothing built (what an image really has is read from it, see needs.py)
EXPERIMENT_IMAGE_MODULES = frozenset(
    {
        "PIL",
        "contourpy",
        "cycler",
        "dateutil",
        "filelock",
        "fontTools",
        "fsspec",
        "functorch",
        "jinja2",
        "kiwisolver",
        "markupsafe",
        "matplotlib",
        "mpl_toolkits",
        "mpmath",
        "networkx",
        "numpy",
        "packaging",
        "pylab",
        "pyparsing",
        "setuptools",
        "sympy",
        "torch",
        "torchgen",
        "typing_extensions",
    }
)

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")
_SDIST = re.compile(r"^(?P<name>.+?)-(?P<version>\d[^-]*)\.(tar\.gz|zip)$")


def canonical(name: str) -> str:
    """PEP 503 normalisation: `Scikit_Learn` and `scikit-learn` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_for(module: str, overrides: Mapping[str, str | None] | None = None) -> str | None:
    """The requirement that provides `module` (a top-level import name): the YAML's table first, then the
    built-in one, else the module's own name. None: the YAML says the import needs nothing."""
    if overrides and module in overrides:
        value = overrides[module]
        return (value or "").strip() or None
    return MODULE_DISTRIBUTIONS.get(module, module)


def requirement_name(requirement: str) -> str | None:
    """The canonical distribution name a pip requirement (or wheel/sdist path) installs; None when unknown
    (a folder, a VCS URL)."""
    text = requirement.strip()
    if is_path_requirement(text) or "://" in text:
        filename = Path(text.split("#", 1)[0].rstrip("/")).name
        match = _WHEEL.match(filename) or _SDIST.match(filename)
        if match:
            return canonical(match["name"])
        egg = re.search(r"#egg=([A-Za-z0-9._-]+)", text)
        return canonical(egg[1]) if egg else None
    match = _NAME.match(text)
    return canonical(match[1]) if match else None


def wheel_version(filename: str) -> tuple[str, str] | None:
    """(canonical name, version) of a wheel file name, e.g. ('torch', '2.13.0+cpu')."""
    match = _WHEEL.match(Path(filename).name)
    return (canonical(match["name"]), match["version"]) if match else None


def wheel_modules(path: Path) -> set[str]:
    """The top-level import names a wheel file installs (read from its file list); empty if unreadable."""
    names: set[str] = set()
    try:
        with zipfile.ZipFile(path) as wheel:
            entries = wheel.namelist()
    except (OSError, zipfile.BadZipFile):
        return names
    for entry in entries:
        top = entry.split("/", 1)[0]
        if top.endswith((".dist-info", ".data")) or not top:
            continue
        if "/" in entry:
            names.add(top)
        elif top.endswith(".py"):
            names.add(top[:-3])
        elif top.endswith(".so"):
            names.add(top.split(".", 1)[0])
    return names
