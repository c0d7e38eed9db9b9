"""references.bib merging and key listing."""

from __future__ import annotations

from pathlib import Path

from paper_support import BIB

from sciswarm.paper.bib import bib_keys, list_keys, merge_bibtex, parse_entries

NEW = r"""
@article{ho2020denoising,
  title = {Denoising {Diffusion} Probabilistic Models},
  note = {contact: someone@example.org},
  year = {2020}
}
@INPROCEEDINGS{Vaswani2017Attention, title={Duplicate in another case}}
@misc(song2021score, title = {Score-Based {G}enerative Modeling})
@comment{ignored}
@string{neurips = "NeurIPS"}
@article{broken, title = {never closed
"""


def test_keys_in_order_with_nested_braces_and_at_signs() -> None:
    assert bib_keys(BIB + NEW) == [
        "vaswani2017attention",
        "power2022grokking",
        "ho2020denoising",
        "Vaswani2017Attention",
        "song2021score",
    ]
    entries, bad = parse_entries(NEW)
    assert entries[0].text.endswith("year = {2020}\n}") and "someone@example.org" in entries[0].text
    assert bad and bad[0].startswith("@article{broken")


def test_merge_skips_existing_keys_case_insensitively(tmp_path: Path) -> None:
    bib = tmp_path / "references.bib"
    bib.write_text(BIB)
    result = merge_bibtex(bib, NEW)
    assert result.added == ["ho2020denoising", "song2021score"]
    assert result.skipped == ["Vaswani2017Attention"]
    assert len(result.rejected) == 1
    text = bib.read_text()
    assert text.startswith(BIB.rstrip())
    assert "Duplicate in another case" not in text and "ignored" not in text
    assert '@string{neurips = "NeurIPS"}' in text
    assert list_keys(bib) == ["vaswani2017attention", "power2022grokking", "ho2020denoising", "song2021score"]

    again = merge_bibtex(bib, [NEW, "@misc{power2022grokking, title={x}}"])
    assert again.added == [] and text == bib.read_text()  # idempotent; @string not repeated
    assert not list(tmp_path.glob(".*.tmp"))


def test_merge_creates_the_file_and_dedupes_within_the_input(tmp_path: Path) -> None:
    bib = tmp_path / "new.bib"
    assert list_keys(bib) == []
    result = merge_bibtex(bib, ["@misc{a, title={A}}", "@misc{A, title={again}}", "@misc{b, title={B}}"])
    assert (result.added, result.skipped) == (["a", "b"], ["A"])
    assert bib.read_text() == "@misc{a, title={A}}\n\n@misc{b, title={B}}\n"
