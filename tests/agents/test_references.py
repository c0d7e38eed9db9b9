"""Real references only, through the writer on the real bus with real pdflatex/bibtex: the model's invented
BibTeX (an inline filecontents block) and keys with no entry are replaced by records of the fake Semantic
Scholar server on 127.0.0.1 when one matches, removed with their cites otherwise; the template's entries and the
citation rounds' literature entries are kept; the report is in references.json and the transcript."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from agent_support import Swarm, needs_latex, section_replies, writer_seed
from support.fake_scholar import SAMPLE_S2_PAPERS, FakeScholar

from sciswarm.paper import extract_text
from sciswarm.paper.references import reference_report

IDEA = "divisor_study"
WRITER = {"name": "writer", "params": {"refine": False, "citation_rounds": 2, "fix_rounds": 0, "audit": False}}
pytestmark = [pytest.mark.latex, needs_latex]

INTRODUCTION = (
    "The score depends on a divisor, as typeset in \\citet{knuth1984texbook}. Denoising models "
    "\\citep{hoFake2020} and quantum toys~\\citep{smith2023quantum} motivate the study."
)
RELATED = r"""Diffusion models beat GANs \citep{dhariwal2021diffusion}; see also \cite{nobody1999nothing}.
\begin{filecontents}{references.bib}
@inproceedings{hoFake2020,
  title = {Denoising diffusion probabilistic models},
  author = {Ho, J. and Jain, A.},
  booktitle = {NeurIPS},
  year = {2020}
}
@article{smith2023quantum,
  title = {Quantum Gradient Alignment for Toy Divisors},
  author = {Smith, Alice},
  journal = {Journal of Imaginary Results},
  year = {2023}
}
\end{filecontents}"""
CITE_ROUND = [
    '{"Done": false, "Query": "grokking generalization small algorithmic datasets", "Section": "Related Work"}',
    "SELECTED: 1\nSENTENCE:\nDelayed generalization was first reported by \\citet{power2022grokking}.",
    '{"Done": true}',
]


@pytest.fixture
def scholar() -> Iterator[FakeScholar]:
    with FakeScholar() as server:
        yield server


def literature(server: FakeScholar) -> dict[str, Any]:
    return {
        "engine": "semanticscholar",
        "api_base": server.url,
        "fallback_api_base": server.url,
        "api_key_env": "SCISWARM_TEST_NO_S2_KEY",
        "cache_path": None,
        "min_interval_s": 0,
        "max_attempts": 1,
        "timeout_s": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.02,
        "deadline_s": 3,
    }


async def test_invented_references_are_replaced_or_removed_and_the_paper_compiles(
    swarm: Swarm, scholar: FakeScholar
) -> None:
    out = await swarm.run(
        [writer_seed(IDEA), WRITER],
        replies={"writer": [*section_replies(Introduction=INTRODUCTION, Related_Work=RELATED), *CITE_ROUND]},
        literature=literature(scholar),
    )
    assert out.status == "completed" and not out.of("role_failed"), out.meta.get("reason")
    paper_dir = out.idea_dir(IDEA) / "paper"
    tex = (paper_dir / "template.tex").read_text()
    # the fake entry with a real title is that record now, under its key; the key with no entry found its record
    assert "Denoising models \\citep{ho2020denoising} and quantum toys motivate the study." in tex
    assert "beat GANs \\citep{dhariwal2021diffusion}; see also." in tex
    assert "\\citet{power2022grokking}" in tex and "\\citet{knuth1984texbook}" in tex
    for gone in ("hoFake2020", "smith2023quantum", "nobody1999nothing", "filecontents", "Quantum Gradient"):
        assert gone not in tex, gone

    report = reference_report(paper_dir)
    assert report is not None
    assert (report.cited, report.literature, report.template) == (4, 3, 1)
    assert (report.invented_replaced, report.invented_removed) == (2, 2)
    assert report.counts() == {"cited": 4, "literature": 3, "template": 1, "replaced": 2, "removed": 2}
    assert {i.key: (i.found_in, i.action, i.replaced_by) for i in report.invented} == {
        "hoFake2020": ("filecontents", "replaced", "ho2020denoising"),
        "smith2023quantum": ("filecontents", "removed", None),
        "dhariwal2021diffusion": ("nowhere", "replaced", "dhariwal2021diffusion"),
        "nobody1999nothing": ("nowhere", "removed", None),
    }
    saved = json.loads((paper_dir / "references.json").read_text())
    ids = {p["title"]: p["paperId"] for p in SAMPLE_S2_PAPERS}
    entries = saved["entries"]
    assert (entries["knuth1984texbook"]["source"], entries["knuth1984texbook"]["file"]) == (
        "template",
        "references.bib",
    )
    for key, title in [
        ("ho2020denoising", "Denoising Diffusion Probabilistic Models"),
        ("dhariwal2021diffusion", "Diffusion Models Beat GANs on Image Synthesis"),
        ("power2022grokking", "Grokking: Generalization Beyond Overfitting on Small Algorithmic Datasets"),
    ]:
        assert (entries[key]["source"], entries[key]["engine"], entries[key]["record_id"], entries[key]["title"]) == (
            "literature",
            "semanticscholar",
            ids[title],
            title,
        )

    assert any(
        t.startswith("references: 4 cited key(s), 3 from the literature, 1 from the template; invented: 2 replaced")
        for t in out.logs("info")
    )
    warnings = [t for t in out.logs("warning") if t.startswith("invented reference")]
    assert len(warnings) == 4 and any("`smith2023quantum` (in filecontents): removed" in t for t in warnings)

    (paper,) = out.of("paper")
    assert paper["compiled"] is True and paper["citations"] == 4
    text = " ".join(extract_text(out.run_dir / paper["pdf"]).split()).lower()  # plainnat lower-cases titles
    assert "denoising diffusion probabilistic models" in text and "diffusion models beat gans" in text
    assert "grokking" in text and "texbook" in text and "[?]" not in text and "quantum gradient" not in text


async def test_without_literature_invented_references_are_removed_and_the_template_ones_kept(swarm: Swarm) -> None:
    intro = "Typeset as in \\citet{knuth1984texbook}, tuned as in~\\citep{smith2023quantum,knuth1984texbook}."
    out = await swarm.run(
        [writer_seed(IDEA), WRITER],
        replies={"writer": section_replies(Introduction=intro, Related_Work=RELATED)},
    )
    assert out.status == "completed" and not out.of("role_failed"), out.meta.get("reason")
    tex = (out.idea_dir(IDEA) / "paper" / "template.tex").read_text()
    assert "tuned as in~\\citep{knuth1984texbook}." in tex and "smith2023quantum" not in tex
    assert "beat GANs; see also." in tex and "hoFake2020" not in tex
    report = reference_report(out.idea_dir(IDEA) / "paper")
    assert report is not None and (report.cited, report.literature, report.template) == (1, 0, 1)
    assert (report.invented_replaced, report.invented_removed) == (0, 3)
    assert report.uncited_dropped == ["hoFake2020"]
    assert {i.reason for i in report.invented} == {"no literature search is configured"}
    (paper,) = out.of("paper")
    assert paper["compiled"] is True and paper["citations"] == 1


async def test_a_citation_round_whose_model_fails_for_good_keeps_what_the_rounds_added(
    swarm: Swarm, scholar: FakeScholar
) -> None:
    out = await swarm.run(
        [writer_seed(IDEA), WRITER],
        # round 1 cites a paper; the scripted writer has no reply for round 2's query: it fails for good there
        replies={"writer": [*section_replies(), *CITE_ROUND[:2]]},
        literature=literature(scholar),
    )
    assert out.status == "completed" and not out.of("role_failed"), out.meta.get("reason")
    assert "writer gave up at cite/query (citation round 2 of at most 2)" in out.meta["outcomes"][IDEA]["detail"]
    (paper,) = out.of("paper")
    assert paper["compiled"] is True and paper["citations"] == 2
    assert paper["gave_up"].startswith("cite/query (citation round 2 of at most 2): scripted replies")
    assert "\\citet{power2022grokking}" in (out.idea_dir(IDEA) / "paper" / "template.tex").read_text()
    text = " ".join(extract_text(out.run_dir / paper["pdf"]).split())
    body, appendix = text.split("Unfinished writing This appendix was written by sciswarm")
    assert "Delayed generalization was first reported by" in body and "[?]" not in text
    assert "The writer gave up at cite/query (citation round 2 of at most 2): a model call failed for good" in appendix
