"""Papers as prompt text and as references; creating a search leaves the root logger alone."""

from __future__ import annotations

import logging
from pathlib import Path

from literature_support import make_search
from support.fake_scholar import FakeScholar

from sciswarm.literature import Paper, format_for_prompt


def test_format_for_prompt() -> None:
    long = Paper(
        paper_id="a",
        title="Long Paper",
        abstract="word " * 200,
        year=2021,
        venue="ICML",
        authors=["Ann Lee", "Bo Chen", "Cy Dee"],
        citation_count=42,
    )
    bare = Paper(paper_id="b", title="Bare Paper")
    text = format_for_prompt([long, bare])
    lines = text.splitlines()
    assert lines[0] == "1. Long Paper (Lee et al., 2021, ICML; 42 citations)"
    assert lines[1].startswith("   word word") and lines[1].endswith("…") and len(lines[1]) <= 3 + 300
    assert lines[2:] == ["2. Bare Paper", "   (no abstract)"]
    assert format_for_prompt([long], with_keys=True).startswith("1. [lee2021long] Long Paper")
    assert format_for_prompt([]) == "No papers found."


def test_to_ref_and_root_logger_untouched(server: FakeScholar, tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    make_search(server, tmp_path)  # semanticscholar's client calls logging.basicConfig() on creation
    assert (root.handlers, root.level) == (handlers, level)

    ref = Paper(paper_id="p", title="T", authors=["A B", "C D"], year=2020, citation_count=3).to_ref()
    assert (ref.authors, ref.venue, ref.citation_count) == ("B and D", "", 3)
