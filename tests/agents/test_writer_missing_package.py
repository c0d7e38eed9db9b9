"""The paper build never fails silently on a LaTeX package this host lacks: the writer's failure (and so the
run's reason) names the .sty and the Debian package to install, with real pdflatex."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_support import Swarm, needs_latex, section_replies, writer_seed

IDEA = "divisor_study"
WRITER = {"name": "writer", "params": {"refine": False, "citation_rounds": 0, "fix_rounds": 1, "audit": False}}
pytestmark = [pytest.mark.latex, needs_latex]


async def test_a_missing_sty_fails_the_writer_naming_the_package_and_its_debian_package(
    swarm: Swarm, template: Path
) -> None:
    tex = template / "latex" / "template.tex"
    tex.write_text(tex.read_text().replace("\\usepackage{amsmath}", "\\usepackage{amsmath}\n\\usepackage{nosuchpkg}"))
    out = await swarm.run([writer_seed(IDEA), WRITER], replies={"writer": section_replies()})
    (failed,) = out.of("role_failed")
    assert failed["role"] == "writer"
    assert str(failed["error"]).startswith(
        "LaTeX not installed: nosuchpkg.sty (apt-get install -y texlive-latex-extra texlive-science); "
        "the paper did not compile"
    )
    assert not out.of("paper")
    assert "writer: LaTeX not installed: nosuchpkg.sty (apt-get install -y texlive-latex-extra" in out.meta["reason"]
    assert any("nosuchpkg.sty" in t and "texlive-latex-extra" in t for t in out.logs("error"))
