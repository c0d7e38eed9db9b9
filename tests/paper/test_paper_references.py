"""Real references only: entry origins (references.json), the cite surgery, the title/key matching rules, and
the reference check on a real paper folder, without literature and against the fake Semantic Scholar server on
127.0.0.1, then compiled with real pdflatex/bibtex."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paper_support import BIB, BODY, PREAMBLE, make_paper, needs_latex
from support.fake_scholar import SAMPLE_S2_PAPERS, FakeScholar, fail

from sciswarm.literature import LiteratureSearch, Paper, bibtex_for
from sciswarm.literature.bibtex import key_matches, key_words
from sciswarm.paper import compile_pdf, extract_text, list_keys
from sciswarm.paper.bib import remove_entries
from sciswarm.paper.cite_edits import cited_in, edit_cites
from sciswarm.paper.refcheck import verify_references
from sciswarm.paper.references import (
    FILE,
    add_literature,
    load_references,
    record_template,
    reference_report,
)
from sciswarm.paper.refmatch import Claim, match_record, normalize_title, title_similarity

DDPM = Paper(
    paper_id="arXiv:2006.11239",
    title="Denoising Diffusion Probabilistic Models",
    year=2020,
    authors=["Jonathan Ho", "Ajay Jain", "Pieter Abbeel"],
    arxiv_id="2006.11239",
)
SCORE = Paper(
    paper_id="94bcd712aed610b8eaeccc57136d65ec988356f2",
    title="Score-Based Generative Modeling through Stochastic Differential Equations",
    year=2020,
    authors=["Yang Song", "Stefano Ermon"],
    source="semanticscholar",
)
GROKKING = Paper(
    paper_id="W4221143046",
    title="Grokking: Generalization Beyond Overfitting on Small Algorithmic Datasets",
    year=2022,
    authors=["Alethea Power", "Yuri Burda"],
)

# ---- cite surgery ---------------------------------------------------------------------------------------------


def test_removed_keys_leave_clean_cite_commands() -> None:
    tex = (
        "As in~\\citet{fake} and \\citep{a,fake, b}. Also (\\citep{fake}) here.\n"
        "\\citet{fake} shows it. See \\cite[p.~3]{fake}. % \\cite{c}\n"
        "\\nocite{*}\\citep{old, real}\\citeauthor*{fake}"
    )
    assert cited_in(tex) == ["fake", "a", "b", "old", "real"]  # not `c` (a comment), not `*`
    assert edit_cites(tex, {"old": "real"}, {"fake"}) == (
        "As in and \\citep{a,b}. Also here.\nshows it. See. % \\cite{c}\n\\nocite{*}\\citep{real}"
    )
    assert edit_cites(tex, {}, set()) == tex
    assert edit_cites("x \\Citet[see][]{k1,k2}.", {"k1": "real", "k2": "real"}, set()) == "x \\Citet[see][]{real}."


def test_titles_match_when_the_normalised_words_agree_and_the_years_are_close() -> None:
    assert normalize_title("The {\\TeX}book") == "the texbook"
    assert normalize_title("\\emph{Deep} Learning: a Survey.") == "deep learning a survey"
    assert title_similarity("denoising diffusion probabilistic models.", DDPM.title) == 1.0
    assert title_similarity("Denoising Diffusion Models", DDPM.title) < 0.9
    near = Claim("x", "bib", "Denoising Diffusion Probabilistic Model", 2021)  # one letter off, a year off
    match = match_record(near, "x", [GROKKING, DDPM])
    assert match is not None and match[0] is DDPM and 0.9 <= (match[1] or 0) < 1.0
    assert match_record(Claim("x", "bib", DDPM.title, 2016), "x", [DDPM]) is None  # years 4 apart
    assert match_record(Claim("x", "bib", "Diffusion Magic for Everyone", 2020), "ho2020denoising", [DDPM]) is None
    item = Claim("x", "bibitem", "J. Ho", 2020, normalize_title("J. Ho. Denoising diffusion probabilistic models"))
    assert match_record(item, "x", [DDPM]) == (DDPM, 1.0)  # a \bibitem contains the record's whole title


def test_a_key_alone_matches_a_record_it_names() -> None:
    assert key_words("Ho2020DenoisingDP") == "Ho Denoising DP" and key_words("smith_etal_dropout") == "smith dropout"
    for key in ("ho2020denoising", "Ho2020Denoising", "Ho_2020_diffusion", "ho2020denoisingdp"):
        assert key_matches(key, DDPM), key
    for key in ("ho2021denoising", "jain2020denoising", "ho2020", "ho2020gans", "denoising"):
        assert not key_matches(key, DDPM), key
    assert match_record(None, "power2022grokking", [DDPM, GROKKING]) == (GROKKING, None)


def test_remove_entries_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    bib = tmp_path / "references.bib"
    bib.write_text("% my bibliography\n" + BIB + "\n@string{nips = {NeurIPS}}\n@misc{Power2022Grokking, title={x}}\n")
    assert remove_entries(bib, ["vaswani2017attention", "Power2022Grokking", "absent"]) == [
        "vaswani2017attention",
        "Power2022Grokking",
    ]
    text = bib.read_text()
    assert text.startswith("% my bibliography\n\n@article{power2022grokking,") and "@string{nips" in text
    assert list_keys(bib) == ["power2022grokking"]  # the same key in another case is another entry
    assert remove_entries(bib, ["absent"]) == [] and bib.read_text() == text


# ---- origins --------------------------------------------------------------------------------------------------


def test_origins_of_template_and_literature_entries(tmp_path: Path) -> None:
    (tmp_path / "references.bib").write_text(BIB)
    (tmp_path / "template.tex").write_text(
        "\\begin{filecontents}{extra.bib}\n@misc{embedded2020, title={Embedded}}\n\\end{filecontents}\n"
        "\\begin{thebibliography}{1}\\bibitem{item1999} An item.\\end{thebibliography}\n"
    )
    refs = record_template(tmp_path, "template.tex")
    assert {k: o.file for k, o in refs.entries.items()} == {
        "vaswani2017attention": "references.bib",
        "power2022grokking": "references.bib",
        "embedded2020": "extra.bib",
        "item1999": "template.tex",
    }
    assert all(o.source == "template" for o in refs.entries.values()) and len(refs.template_blocks) == 1
    result = add_literature(tmp_path, tmp_path / "references.bib", [(DDPM, bibtex_for(DDPM)), (GROKKING, "@x")])
    assert result.added == ["ho2020denoising"]
    origin = load_references(tmp_path).entries["ho2020denoising"]
    assert (origin.source, origin.engine, origin.record_id, origin.title, origin.year) == (
        "literature",
        "semanticscholar",  # the demo cache's records carry no engine: an arXiv: id is Semantic Scholar's
        "arXiv:2006.11239",
        DDPM.title,
        2020,
    )
    assert load_references(tmp_path).entries["power2022grokking"].source == "template"  # kept
    data = json.loads((tmp_path / FILE).read_text())
    assert data["format"] == "sciswarm.references/1" and data["report"] is None


# ---- the check ------------------------------------------------------------------------------------------------

FAKE_BIB = """
@inproceedings{hoFake2020,
  title = {Denoising diffusion probabilistic models.},
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
@misc{unusedFake2021, title = {Never Cited}, year = {2021}}
"""
INLINE = r"""
\begin{filecontents}{references.bib}
@article{lee2024phantom, title = {Phantom Scaling Laws of Tiny Models}, author = {Lee, Bo}, year = {2024}}
\end{filecontents}
"""
CITING = (
    "Diffusion \\citep{hoFake2020,vaswani2017attention} and quantum toys~\\citep{smith2023quantum}. "
    "SDEs \\cite{song2020score}. "
    "Phantoms \\citet{lee2024phantom} and beaten GANs \\citep{dhariwal2021diffusion}; none \\cite{nobody1999nothing}."
)


def model_writes(folder: Path, text: str) -> None:
    """The paper's text with the model's writing where the sample paper has its %BODY% mark."""
    (folder / "template.tex").write_text(PREAMBLE + BODY.replace("%BODY%", text))


def paper_with_inventions(folder: Path) -> Path:
    """The sample paper (its two entries are the template's), a literature entry merged by a citation round,
    and what a model invents: entries appended to the .bib, an inline filecontents block, a key with no entry."""
    make_paper(folder)
    record_template(folder, "template.tex")  # what the writer's setup does with the template's own files
    model_writes(folder, CITING + "\n" + INLINE)
    add_literature(folder, folder / "references.bib", [(SCORE, bibtex_for(SCORE))])
    with (folder / "references.bib").open("a") as f:
        f.write(FAKE_BIB)
    return folder


async def test_without_literature_every_invented_reference_is_removed(tmp_path: Path) -> None:
    paper = paper_with_inventions(tmp_path / "paper")
    report = await verify_references(paper, "template.tex", paper / "references.bib", None)
    tex = (paper / "template.tex").read_text()
    for gone in ("hoFake2020", "smith2023quantum", "lee2024phantom", "dhariwal2021diffusion", "nobody1999"):
        assert gone not in tex, gone
    assert "filecontents" not in tex and "Phantom Scaling" not in tex
    kept = "Diffusion \\citep{vaswani2017attention} and quantum toys. SDEs \\cite{song2020score}. Phantoms and beaten"
    assert kept + " GANs; none." in tex
    assert list_keys(paper / "references.bib") == ["vaswani2017attention", "power2022grokking", "song2020score"]
    assert (report.cited, report.literature, report.template) == (3, 1, 2)
    assert (report.invented_replaced, report.invented_removed) == (0, 5)
    assert {i.key: i.found_in for i in report.invented} == {
        "hoFake2020": "bib",
        "smith2023quantum": "bib",
        "lee2024phantom": "filecontents",
        "dhariwal2021diffusion": "nowhere",
        "nobody1999nothing": "nowhere",
    }
    assert {i.reason for i in report.invented} == {"no literature search is configured"}
    assert report.invented[0].claimed_title == "Denoising diffusion probabilistic models."
    assert report.uncited_dropped == ["unusedFake2021"]
    assert reference_report(paper) == report


@pytest.fixture
def scholar() -> Iterator[FakeScholar]:
    with FakeScholar() as server:
        yield server


def search_on(server: FakeScholar, tmp_path: Path, **overrides: Any) -> LiteratureSearch:
    cfg: dict[str, Any] = {
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
        **overrides,
    }
    return LiteratureSearch.from_config(cfg, base_dir=tmp_path)


@pytest.mark.latex
@needs_latex
async def test_invented_entries_are_replaced_by_real_records_or_removed_and_the_paper_compiles(
    tmp_path: Path, scholar: FakeScholar
) -> None:
    paper = paper_with_inventions(tmp_path / "paper")
    search = search_on(scholar, tmp_path)
    try:
        report = await verify_references(paper, "template.tex", paper / "references.bib", search)
        again = await verify_references(paper, "template.tex", paper / "references.bib", search)
    finally:
        search.close()
    tex = (paper / "template.tex").read_text()
    # the fake entry with DDPM's title became the real record; the key with no entry found its record by key
    assert "Diffusion \\citep{ho2020denoising,vaswani2017attention} and quantum toys." in tex
    assert "beaten GANs \\citep{dhariwal2021diffusion}; none." in tex
    assert "hoFake2020" not in tex and "smith2023" not in tex and "lee2024" not in tex and "nobody" not in tex
    assert list_keys(paper / "references.bib") == [
        "vaswani2017attention",
        "power2022grokking",
        "song2020score",
        "ho2020denoising",
        "dhariwal2021diffusion",
    ]
    ddpm = next(p for p in SAMPLE_S2_PAPERS if p["title"] == "Denoising Diffusion Probabilistic Models")
    entries = load_references(paper).entries
    assert (entries["ho2020denoising"].source, entries["ho2020denoising"].record_id) == ("literature", ddpm["paperId"])
    assert entries["ho2020denoising"].engine == "semanticscholar"
    assert (report.cited, report.literature, report.template) == (5, 3, 2)
    assert (report.invented_replaced, report.invented_removed) == (2, 3)
    by_key = {i.key: i for i in report.invented}
    assert (by_key["hoFake2020"].action, by_key["hoFake2020"].replaced_by) == ("replaced", "ho2020denoising")
    assert by_key["hoFake2020"].similarity == 1.0 and by_key["hoFake2020"].record_id == ddpm["paperId"]
    assert (by_key["dhariwal2021diffusion"].replaced_by, by_key["dhariwal2021diffusion"].similarity) == (
        "dhariwal2021diffusion",
        None,
    )
    assert {k for k, i in by_key.items() if i.action == "removed"} == {
        "smith2023quantum",
        "lee2024phantom",
        "nobody1999nothing",
    }
    assert "no literature record has this title" in by_key["smith2023quantum"].reason
    queries = [r.params.get("query") for r in scholar.requests_to("s2")]
    assert "Denoising diffusion probabilistic models." in queries and "dhariwal diffusion" in queries
    # a second check finds nothing new and keeps the record of what the first did
    assert (again.checks, again.new_invented, again.cited, again.invented_replaced) == (2, 0, 5, 2)
    assert again.invented == report.invented
    result = await compile_pdf(paper)
    assert result.ok, result.feedback()
    text = " ".join(extract_text(result.pdf).split()).lower() if result.pdf else ""  # plainnat lower-cases titles
    assert "diffusion [2, 5] and quantum toys. sdes [4]." in text and "[?]" not in text
    assert "denoising diffusion probabilistic models" in text and "diffusion models beat gans" in text
    assert "grokking" in text and "quantum gradient" not in text and "scaling laws" not in text


async def test_a_literature_outage_removes_what_it_cannot_verify(tmp_path: Path, scholar: FakeScholar) -> None:
    scholar.always("s2", fail(500))
    scholar.always("openalex", fail(503))
    paper = paper_with_inventions(tmp_path / "paper")
    search = search_on(scholar, tmp_path)
    try:
        report = await verify_references(paper, "template.tex", paper / "references.bib", search)
    finally:
        search.close()
    assert (report.invented_replaced, report.invented_removed, report.cited) == (0, 5, 3)
    assert all(i.reason.startswith("literature search unavailable") for i in report.invented)
    assert len(scholar.requests_to("s2")) == 1  # the first outage ends the look-ups


async def test_model_bibitems_go_and_an_emptied_thebibliography_with_them(tmp_path: Path) -> None:
    paper = make_paper(tmp_path / "paper")
    record_template(paper, "template.tex")
    model_writes(
        paper,
        "Magic \\cite{magic2022}.\n\\begin{thebibliography}{1}\n"
        "\\bibitem{magic2022} A. Wizard. \\emph{Magic Tricks for Gradients}. 2022.\n\\end{thebibliography}\n",
    )
    report = await verify_references(paper, "template.tex", paper / "references.bib", None)
    tex = (paper / "template.tex").read_text()
    assert "bibitem" not in tex and "thebibliography" not in tex and "Magic." in tex
    (item,) = report.invented
    assert (item.key, item.found_in, item.claimed_title, item.action) == (
        "magic2022",
        "bibitem",
        "Magic Tricks for Gradients",
        "removed",
    )
