"""The confinement on its own, with a plain Python child: what it denies and what it allows."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from sciswarm.paper.confine import confine, tex_env
from sciswarm.paper.landlock import abi_version

PYTHON = shutil.which("python3", path="/usr/bin:/bin") or ""  # under /usr, readable when confined
pytestmark = pytest.mark.skipif(abi_version() < 1 or not PYTHON, reason="needs Landlock and /usr/bin/python3")

PROBE = r"""
import os, socket, sys
def attempt(label, fn):
    try:
        fn()
        print(label, "allowed")
    except OSError as exc:
        print(label, "denied", type(exc).__name__)
attempt("read-secret", lambda: open(sys.argv[1]).read())
attempt("read-usr", lambda: open("/usr/lib/os-release").read())
attempt("write-paper", lambda: open("out.txt", "w").write("x"))
attempt("write-parent", lambda: open("../escape.txt", "w").write("x"))
attempt("list-parent", lambda: os.listdir(".."))
attempt("tcp-connect", lambda: socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=2))
"""


def test_confined_child(tmp_path: Path) -> None:
    paper, scratch = tmp_path / "paper", tmp_path / "scratch"
    paper.mkdir()
    scratch.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    conf = confine(paper, scratch, timeout_s=10, programs=[])
    try:
        out = subprocess.run(
            [PYTHON, "-I", "-S", "-c", PROBE, str(tmp_path / "secret.txt"), str(port)],
            cwd=paper,
            env=conf.env,
            preexec_fn=conf.preexec,
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    finally:
        conf.close()
        server.close()
    verdicts = dict(line.split(" ", 1) for line in out.splitlines())
    assert conf.isolation == "landlock"
    assert verdicts["read-secret"].startswith("denied")
    assert verdicts["read-usr"] == "allowed"
    assert verdicts["write-paper"] == "allowed" and (paper / "out.txt").read_text() == "x"
    assert verdicts["write-parent"].startswith("denied") and not (tmp_path / "escape.txt").exists()
    assert verdicts["list-parent"].startswith("denied")
    if abi_version() >= 4:
        assert verdicts["tcp-connect"].startswith("denied")


def test_env_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("TEXMFOUTPUT", "/")
    monkeypatch.setenv("TEXINPUTS", "/home//:")
    env = tex_env(tmp_path)
    assert {"ANTHROPIC_API_KEY", "TEXMFOUTPUT", "TEXINPUTS"}.isdisjoint(env)
    assert (env["openin_any"], env["openout_any"], env["shell_escape"]) == ("p", "p", "f")
    assert env["HOME"] == env["TMPDIR"] == str(tmp_path)
