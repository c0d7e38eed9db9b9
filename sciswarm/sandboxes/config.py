"""The `sandbox:` section of a swarm YAML: which provider, the limits every experiment run gets, and what the
template's Python needs beyond the experiment image (see sandboxes/needs.py):

    sandbox:
      packages: {sklearn: scikit-learn>=1.4, wandb: null}   # module -> distribution (null: ignore the import)
      requirements: [einops==0.8.2, ./wheels/npeet-0.1-py3-none-any.whl]   # added to what the template needs
      torch: cuda          # cpu (default: the image's pinned CPU build) | cuda: the CUDA build, on a GPU host
      torch_index_url: https://download.pytorch.org/whl/cu128   # where the CUDA build comes from (default: PyPI)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


def is_path_requirement(requirement: str) -> bool:
    """A requirement that names a file or folder (a wheel, an sdist, a project) rather than a distribution."""
    text = requirement.strip()
    return text.startswith(("./", "../", "/", "~")) or text.endswith((".whl", ".tar.gz", ".zip"))


class SandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["auto", "docker", "bwrap", "local"] = "auto"
    image: str = "sciswarm-exp:latest"
    timeout_s: float = Field(default=600.0, gt=0)
    memory_mb: int = Field(default=4096, ge=64)
    cpus: float = Field(default=2.0, gt=0)
    gpus_per_run: int = Field(default=0, ge=0)
    gpu_devices: list[str] | None = Field(default=None, description="device ids to hand out, one slot per run")
    network: bool = False
    max_parallel_runs: int | None = Field(
        default=None, ge=1, description="experiments at once; default: GPU slots, else CPU cores / cpus"
    )
    packages: dict[str, str | None] = Field(
        default_factory=dict,
        description="module -> the distribution (pip requirement) providing it, extending the built-in table; "
        "null: the import needs nothing (optional, or vendored elsewhere)",
    )
    requirements: list[str] = Field(
        default_factory=list,
        description="pip requirements added to the template's: pins, or paths to wheels (relative to the YAML)",
    )
    torch: Literal["cpu", "cuda"] = Field(
        default="cpu", description="cpu: the image's pinned CPU build; cuda: the same version's CUDA build"
    )
    torch_index_url: str | None = Field(default=None, description="an extra index for the CUDA build of torch")

    def with_paths_from(self, base_dir: str | Path) -> SandboxConfig:
        """This section with its path requirements made absolute (relative to `base_dir`, the YAML's folder)."""
        base = Path(base_dir)
        resolved = [
            str((base / Path(r.strip()).expanduser()).resolve()) if is_path_requirement(r) else r
            for r in self.requirements
        ]
        return self.model_copy(update={"requirements": resolved})
