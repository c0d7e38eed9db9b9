"""An image per requirement set, derived from the experiment image: the wheels a template's needs add (fetched
on the host, see wheels.py) installed with no network into `/opt/needs`, which a `.pth` file puts on the venv's
path. Nothing the experiment image has is reinstalled; with `sandbox.torch: cuda` its CPU torch is replaced by
the same version's CUDA build.

The tag is `<image repo>-needs:<hash>`, the hash over the experiment image's id, the requirement set (wheel files
by content), the Python version, the torch choice and the Dockerfile; a present image with that label is reused.
What an image has (distributions, modules) is read from it once per image id and cached.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.utils

from sciswarm.sandboxes.base import SandboxError
from sciswarm.sandboxes.base_image import ProgressCallback, image_or_none, say
from sciswarm.sandboxes.distributions import canonical
from sciswarm.sandboxes.image import (
    DEFAULT_IMAGE,
    SMOKE_CONTAINER,
    default_cache_dir,
    docker_build,
    drop_new_dangling,
    link_wheels,
)
from sciswarm.sandboxes.needs import (
    PROBE,
    EnvFacts,
    Need,
    Needs,
    UnmetNeeds,
    facts_from_probe,
    inputs_digest,
    missing_from,
    unmet_requirement,
)
from sciswarm.sandboxes.wheels import PipFailure, prepare_needs_wheelhouse

NEEDS_BUILDER_VERSION = "1"
LABEL_NEEDS = "sciswarm.needs.inputs"
LABEL_NEEDS_REQUIREMENTS = "sciswarm.needs.requirements"
NEEDS_DIR = "/opt/needs"

_DOCKERFILE = """\
ARG BASE
FROM ${{BASE}} AS build
COPY wheelhouse/ /wheelhouse/
RUN python -m pip install --no-index --no-deps --no-cache-dir --disable-pip-version-check \\
      --target {needs} /wheelhouse/*.whl

FROM ${{BASE}}
{replace}COPY --from=build {needs} {needs}
RUN python -c "import pathlib, site; pathlib.Path(site.getsitepackages()[0], '{pth}').write_text('{needs}')"
"""

_SMOKE = """
import importlib, importlib.metadata as md, subprocess, sys
modules, dists = sys.argv[1].split(), sys.argv[2].split()
for m in modules:
    importlib.import_module(m)
found = [f"{d}={md.version(d)}" for d in dists]
subprocess.run([sys.executable, "-m", "pip", "check"], check=True, stdout=subprocess.DEVNULL)
print(*modules, *found)
"""


@dataclass(frozen=True)
class NeedsPlan:
    """What a derived image adds to `base`: the missing needs, the pip requirements, notes, and the hash."""

    missing: list[Need]
    requirements: list[str]
    unpinned: list[str]  # base distributions pip may replace (torch, for its CUDA build)
    notes: list[str]
    digest: str


def torch_requirement(installed: str) -> str:
    """The CUDA build of the version the image has (`2.13.0+cpu` -> `torch==2.13.0,!=2.13.0+cpu`)."""
    public = installed.split("+", 1)[0]
    return f"torch=={public}" + (f",!={installed}" if installed != public else "")


def render_needs_dockerfile(replace_torch: bool = False) -> str:
    replace = "RUN python -m pip uninstall -y --disable-pip-version-check torch\n" if replace_torch else ""
    return _DOCKERFILE.format(needs=NEEDS_DIR, pth="sciswarm-needs.pth", replace=replace)


def plan_needs(needs: Needs, facts: EnvFacts, base_id: str) -> NeedsPlan:
    """What the image with `facts` lacks of `needs` (pure; the CUDA choice adds torch and unpins it)."""
    missing, notes = missing_from(needs, facts)
    requirements = [n.requirement for n in missing]
    unpinned: list[str] = []
    if needs.torch == "cuda" and "torch" in facts.dists:
        requirements.append(torch_requirement(facts.dists["torch"]))
        unpinned.append("torch")
        notes.append(f"torch {facts.dists['torch']} replaced by its CUDA build (sandbox.torch: cuda)")
    dockerfile = render_needs_dockerfile(bool(unpinned))
    parts = [NEEDS_BUILDER_VERSION, base_id, facts.python, needs.torch, needs.torch_index_url or "", dockerfile]
    return NeedsPlan(missing, requirements, unpinned, notes, inputs_digest([*parts, *sorted(requirements)]))


def derived_tag(image: str, digest: str) -> str:
    repo, _ = docker.utils.parse_repository_tag(image)
    return f"{repo}-needs:{digest}"


def image_facts(client: docker.DockerClient, image: Any, cache_dir: Path) -> EnvFacts:
    """What `image` (a docker Image) has, read by running its python once; cached per image id."""
    cache = cache_dir / "images" / f"{image.id.split(':')[-1][:32]}.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        return facts_from_probe(cache.read_text())
    try:
        out = client.containers.run(
            image.id, ["python", "-c", PROBE], network_mode="none", remove=True, labels={"sciswarm": "1"}
        )
    except docker.errors.ContainerError as exc:
        raise SandboxError(f"could not read what image {image.tags or image.id} has installed: {exc}") from exc
    text = bytes(out).decode()
    facts = facts_from_probe(text)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(text.strip().splitlines()[-1])
    return facts


def smoke_needs(client: docker.DockerClient, tag: str, plan: NeedsPlan) -> str:
    """Import every module the added needs serve, as the sandbox user would, then `pip check`."""
    modules = sorted({m for n in plan.missing for m in n.modules} | ({"torch"} if plan.unpinned else set()))
    dists = sorted({n.name for n in plan.missing if not n.modules and n.name} - {"torch"})
    try:
        out = client.containers.run(
            tag,
            ["python", "-c", _SMOKE, " ".join(modules), " ".join(dists)],
            **SMOKE_CONTAINER,
        )
    except docker.errors.ContainerError as exc:
        stderr = bytes(exc.stderr or b"").decode(errors="replace")
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(tag, force=True)
        raise _smoke_failure(plan, stderr) from exc
    return bytes(out).decode().strip()


def _smoke_failure(plan: NeedsPlan, stderr: str) -> UnmetNeeds:
    last = " ".join(stderr.strip().splitlines()[-1:]) or "no output"
    match = re.search(r"No module named '([^'.]+)", stderr)
    module = match[1] if match else None
    need = next((n for n in plan.missing if module in n.modules), None) if module else None
    need = need or next((n for n in plan.missing if n.modules), None) or plan.missing[0]
    return unmet_requirement(need, f"it is installed in the derived image but does not import there ({last})")


def _pip_failure(plan: NeedsPlan, failure: PipFailure) -> UnmetNeeds:
    for asked in failure.not_found:
        name = canonical(re.split(r"[\s\[<>=!~;@]", asked, maxsplit=1)[0])
        need = next((n for n in plan.missing if n.name == name), None)
        if need is not None:
            why = f"pip finds no distribution {name!r} for it (on the package index or in the wheelhouse)"
            return unmet_requirement(need, why)
    return UnmetNeeds(
        f"pip could not fetch the template's Python needs ({', '.join(plan.requirements)}): {failure.tail}. "
        "Pin versions that fit the experiment image's packages, or point at wheels in the swarm YAML "
        "(sandbox: {requirements: [./wheels/<file>.whl]})"
    )


def ensure_needs_image(
    needs: Needs,
    *,
    image: str = DEFAULT_IMAGE,
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    client: docker.DockerClient | None = None,
) -> str:
    """The tag of an image with `needs` met: `image` itself when it has them all, else a derived image (built
    now, or reused). Raises UnmetNeeds when a need cannot be met, SandboxError when docker fails."""
    cache = cache_dir or default_cache_dir()
    own_client = client is None
    dc = client or docker.from_env()
    try:
        base = image_or_none(dc, image)
        if base is None:
            raise SandboxError(f"image {image!r} is missing: run `sciswarm sandbox build`")
        facts = image_facts(dc, base, cache)
        plan = plan_needs(needs, facts, base.id)
        for note in [*needs.notes, *plan.notes]:
            say(progress, f"python needs: {note}")
        if not plan.requirements:
            return image
        tag = derived_tag(image, plan.digest)
        existing = image_or_none(dc, tag)
        if existing is not None and (existing.labels or {}).get(LABEL_NEEDS) == plan.digest:
            say(progress, f"{tag} has the template's Python needs ({', '.join(plan.requirements)}), reusing it")
            return tag
        _build(dc, tag, image, plan, facts, needs, cache, progress)
        return tag
    finally:
        if own_client:
            dc.close()


def _build(
    dc: docker.DockerClient,
    tag: str,
    image: str,
    plan: NeedsPlan,
    facts: EnvFacts,
    needs: Needs,
    cache: Path,
    progress: ProgressCallback | None,
) -> None:
    try:
        wheels = prepare_needs_wheelhouse(
            plan.requirements,
            python_version=facts.python,
            installed=facts.dists,
            unpinned=plan.unpinned,
            cache_dir=cache,
            extra_index_url=needs.torch_index_url if needs.torch == "cuda" else None,
            progress=progress,
        )
    except PipFailure as failure:
        raise _pip_failure(plan, failure) from None
    if not any(wheels.glob("*.whl")):  # pip met them with what the image has, which still lacks the modules
        first = plan.missing[0] if plan.missing else Need(plan.requirements[0])
        raise unmet_requirement(first, "its distribution is in the image but does not provide it")
    with tempfile.TemporaryDirectory(prefix="sciswarm-needs-build-") as tmp:
        context = Path(tmp)
        link_wheels(wheels, context / "wheelhouse")
        (context / "Dockerfile").write_text(render_needs_dockerfile(bool(plan.unpinned)))
        labels = {LABEL_NEEDS: plan.digest, LABEL_NEEDS_REQUIREMENTS: " ".join(plan.requirements), "sciswarm": "1"}
        say(progress, f"building {tag} from {image}: adding {', '.join(plan.requirements)} (no network)")
        dangling = {i.id for i in dc.images.list(filters={"dangling": True})}
        docker_build(dc, context, tag, image, labels, progress)
        drop_new_dangling(dc, dangling)
    say(progress, "smoke test: " + smoke_needs(dc, tag, plan))
