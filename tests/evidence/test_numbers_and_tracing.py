"""Finding the numbers a paper states, and tracing each to a result, the code, the plan or the bibliography."""

from __future__ import annotations

import json
from pathlib import Path

from sciswarm.evidence import Results, find_numbers
from sciswarm.evidence.tracing import bib_sources, code_sources, result_sources, trace

TEXT = (
    r"We train on four 2-D datasets of 8{,}000 points (2,000 held out) with a peak rate of $3\times10^{-3}$ "
    r"and $\beta$ from $10^{-4}$ to $0.02$, as in Table~\ref{tab:results} and Figure 2 of \citet{ho2020}. "
    r"On dino the KL divergence falls by 12.5\% to 0.350, x_0 and \beta_1 aside. "
    r"\includegraphics[width=0.9\linewidth]{a2.png} % 0.77 in a comment"
)


def test_numbers_as_written_with_their_precision_and_what_is_skipped() -> None:
    found = {n.text: n for n in find_numbers(TEXT)}
    assert set(found) == {"8{,}000", "2,000", r"3\times10^{-3}", "10^{-4}", "0.02", r"12.5\%", "0.350"}
    assert found["8{,}000"].value == 8000 and found["2,000"].value == 2000
    assert abs(found[r"3\times10^{-3}"].value - 0.003) < 1e-15 and found["10^{-4}"].value == 1e-4
    pct = found[r"12.5\%"]
    assert pct.percent and pct.value == 12.5 and abs(pct.tolerance - 0.05) < 1e-9
    assert found["0.350"].decimals == 3 and abs(found["0.350"].tolerance - 0.0005) < 1e-12
    assert "dino" in found["0.350"].sentence and "\\" not in found["0.350"].sentence
    # small integers are counts or indices: skipped unless asked for
    assert "2" not in found and any(n.text == "2" for n in find_numbers("we use 2 seeds", include_trivial=True))


def _workspace(tmp_path: Path) -> Path:
    for run, (dino, moons) in enumerate([(0.40, 0.10), (0.350, 0.12)]):
        (tmp_path / f"run_{run}").mkdir()
        info = {"dino": {"means": {"kl": dino, "loss": 0.5}}, "moons": {"means": {"kl": moons, "loss": 0.5}}}
        (tmp_path / f"run_{run}" / "final_info.json").write_text(json.dumps(info))
    (tmp_path / "experiment.py").write_text("LR = 3e-3\nparser.add_argument('--steps', default=8000)\n")
    return tmp_path


def test_each_number_is_traced_to_its_source_or_left_untraced(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    results = Results.from_workspace(ws)
    sources = result_sources(results) + code_sources([ws / "experiment.py"]) + bib_sources("year = {2020}")

    def source_of(latex: str) -> str | None:
        (n,) = find_numbers(latex)
        src = trace(n, sources, results)
        return f"{src.kind}: {src.label}" if src else None

    assert source_of("On dino the KL is 0.35.") == "results: run_1 dino kl (mean)"
    assert source_of("On dino the KL falls by 12.5\\%.") == "derived: run_1 vs run_0 dino kl: relative change"
    assert source_of("On dino the KL drops by 0.05.") == "derived: run_1 vs run_0 dino kl: difference"
    assert source_of("We train for 8000 steps.") == "code: experiment.py constant"
    assert source_of("a rate of $3\\times10^{-3}$") == "code: experiment.py constant"
    assert source_of("published in 2020") == "bibliography: bibliography"
    assert source_of("On dino the KL is 0.31.") is None  # no run produced it
    # the sentence names moons: dino's 0.35 is not a candidate there
    assert source_of("On moons the KL is 0.35.") is None
    assert source_of("The loss is 50\\%.") == "results: run_0 dino loss (mean)"  # 0.5 written as a percentage
