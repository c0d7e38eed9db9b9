"""GPU requests: RunSpec.gpus -> docker DeviceRequests (pure), and what this host actually has."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from typing import Any, Literal

from docker.types import DeviceRequest

GpuSpec = int | list[str] | Literal["all"]


def wants_gpu(gpus: GpuSpec) -> bool:
    return gpus == "all" or (isinstance(gpus, list) and bool(gpus)) or (isinstance(gpus, int) and gpus > 0)


def device_requests(gpus: GpuSpec) -> list[DeviceRequest]:
    """0 / [] -> none; n -> n GPUs; ["0", "GPU-uuid"] -> those devices; "all" -> every GPU."""
    if isinstance(gpus, bool):
        raise TypeError("gpus must be a count, a list of device ids or 'all', not a bool")
    if gpus == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    if isinstance(gpus, int):
        if gpus < 0:
            raise ValueError(f"gpus must be >= 0, got {gpus}")
        return [DeviceRequest(count=gpus, capabilities=[["gpu"]])] if gpus else []
    if isinstance(gpus, list):
        ids = [str(g) for g in gpus]
        if any(not g for g in ids):
            raise ValueError(f"empty GPU device id in {gpus!r}")
        return [DeviceRequest(device_ids=ids, capabilities=[["gpu"]])] if ids else []
    raise TypeError(f"gpus must be an int, a list of device ids or 'all', got {gpus!r}")


def cuda_visible_devices(gpus: GpuSpec, host_ids: list[str]) -> str | None:
    """CUDA_VISIBLE_DEVICES for a local run (None = leave unset, i.e. all)."""
    if gpus == "all":
        return None
    if isinstance(gpus, list):
        return ",".join(str(g) for g in gpus)
    return ",".join(host_ids[:gpus])


def host_gpu_ids() -> list[str]:
    """Indices of the NVIDIA GPUs `nvidia-smi` sees on this host ([] when none or no driver)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []


def nvidia_runtime_available(engine_info: Mapping[str, Any]) -> bool:
    """Can this Docker engine honour a GPU DeviceRequest (nvidia runtime or container toolkit hook)?"""
    runtimes = engine_info.get("Runtimes") or {}
    return "nvidia" in runtimes or shutil.which("nvidia-container-runtime-hook") is not None


GPU_UNAVAILABLE_HINT = (
    "this Docker engine cannot give GPUs to containers (no NVIDIA runtime: 'could not select device driver')."
    " "
    "Install the NVIDIA driver + nvidia-container-toolkit and restart dockerd, or run with gpus: 0."
)
