"""SEARCH/REPLACE blocks as real models write them (Aider's format): a block with no file name edits the file of
the block before, no block is dropped unsaid, a reply applies whole or not at all, and a SEARCH text whose
indentation differs uniformly still matches, recorded as such. The coder reports what happened."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sciswarm.agents.coder import Coder
from sciswarm.agents.edits import EditError, apply_edits, parse_edits
from sciswarm.events import ExperimentRun
from sciswarm.llm import ChatMessage
from sciswarm.testing import make_context

EXPERIMENT = """import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self, hidden: int = 64):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, 2)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h)


LEARNING_RATE = 1e-3
NUM_EPOCHS = 10
"""

# GPT-4o in Aider's format: the second block has no file name before it (it means experiment.py)
TWO_BLOCKS = """I'll raise the learning rate and add a ReLU between the two layers.

experiment.py
```python
<<<<<<< SEARCH
LEARNING_RATE = 1e-3
=======
LEARNING_RATE = 3e-3
>>>>>>> REPLACE
```

Now the activation in the forward pass:

```python
<<<<<<< SEARCH
        h = self.fc1(x)
=======
        h = torch.relu(self.fc1(x))
>>>>>>> REPLACE
```
"""

# Claude 3.5 Sonnet quoting a method without its class's indentation
UNINDENTED = """experiment.py
<<<<<<< SEARCH
def forward(self, x):
    h = self.fc1(x)
    return self.fc2(h)
=======
def forward(self, x):
    h = torch.relu(self.fc1(x))
    return self.fc2(h)
>>>>>>> REPLACE
"""


def workspace(tmp_path: Path) -> Path:
    (tmp_path / "experiment.py").write_text(EXPERIMENT)
    (tmp_path / "plot.py").write_text("labels = {'run_0': 'Baseline'}\n")
    return tmp_path


BOTH = {"experiment.py", "plot.py"}


def test_a_block_with_no_file_name_edits_the_file_of_the_block_before(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    edits = parse_edits(TWO_BLOCKS)
    assert [(e.path, e.unnamed) for e in edits] == [("experiment.py", False), ("experiment.py", True)]
    result = apply_edits(ws, edits, BOTH)
    assert result.applied and result.files == ["experiment.py"]
    text = (ws / "experiment.py").read_text()
    assert "LEARNING_RATE = 3e-3" in text and "        h = torch.relu(self.fc1(x))\n" in text
    assert result.notes() == [
        "block 2 (experiment.py): no file name before it: edits experiment.py, the file of the block before"
    ]


def test_a_first_block_with_no_file_name_edits_the_default_or_the_only_file_else_fails(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    reply = "Lower the rate:\n\n<<<<<<< SEARCH\nLEARNING_RATE = 1e-3\n=======\nLEARNING_RATE = 5e-4\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError, match=r"block 1: it has no file name on the line before it \(write one of "):
        apply_edits(ws, parse_edits(reply), BOTH)
    assert (ws / "experiment.py").read_text() == EXPERIMENT
    assert apply_edits(ws, parse_edits(reply), BOTH, default="experiment.py").files == ["experiment.py"]
    assert "LEARNING_RATE = 5e-4" in (ws / "experiment.py").read_text()
    plot = "<<<<<<< SEARCH\nlabels = {'run_0': 'Baseline'}\n=======\nlabels = {'run_0': 'Base', 'run_1': 'ReLU'}\n"
    assert apply_edits(ws, parse_edits(plot + ">>>>>>> REPLACE\n"), {"plot.py"}).files == ["plot.py"]


def test_one_failed_block_applies_nothing_and_says_which_failed_and_why(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    reply = TWO_BLOCKS.replace("        h = self.fc1(x)\n=======", "        h = self.linear(x)\n=======") + (
        "\nexperiment.py\n<<<<<<< SEARCH\nNUM_EPOCHS = 10\n=======\nNUM_EPOCHS = 20\n>>>>>>> REPLACE\n"
    )
    with pytest.raises(EditError) as failed:
        apply_edits(ws, parse_edits(reply), BOTH)
    message = str(failed.value)
    assert "block 2: the SEARCH text was not found in experiment.py, exactly or ignoring whitespace" in message
    assert "'h = self.linear(x)'" in message
    assert "Nothing was applied" in message and "(blocks 1, 3 would apply)" in message
    assert "Send all 3 blocks again" in message
    result = failed.value.result
    assert result is not None and not result.applied
    assert [b.match for b in result.blocks] == ["exact", "none", "exact"]
    assert (ws / "experiment.py").read_text() == EXPERIMENT  # all or nothing


def test_a_block_cut_short_is_reported_not_dropped(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    cut = TWO_BLOCKS.rsplit(">>>>>>> REPLACE", 1)[0]  # the reply ended (max tokens) before its last marker
    with pytest.raises(EditError, match="block 2: it has no >>>>>>> REPLACE line"):
        apply_edits(ws, parse_edits(cut), BOTH)
    no_divider = "experiment.py\n<<<<<<< SEARCH\nNUM_EPOCHS = 10\nNUM_EPOCHS = 20\n>>>>>>> REPLACE\n"
    (edit,) = parse_edits(no_divider)
    assert edit.problem == "it has no ======= line after its SEARCH part"
    assert (ws / "experiment.py").read_text() == EXPERIMENT


def test_a_search_indented_less_than_the_file_matches_and_is_recorded(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    result = apply_edits(ws, parse_edits(UNINDENTED), BOTH)
    (block,) = result.blocks
    assert block.match == "whitespace"
    assert block.detail == "matched ignoring whitespace: the file is indented 4 spaces more than the SEARCH text"
    text = (ws / "experiment.py").read_text()
    assert "    def forward(self, x):\n        h = torch.relu(self.fc1(x))\n        return self.fc2(h)\n" in text
    (cls,) = [n for n in ast.parse(text).body if isinstance(n, ast.ClassDef)]
    assert [f.name for f in cls.body if isinstance(f, ast.FunctionDef)] == ["__init__", "forward"]


def test_a_search_indented_more_or_with_trailing_spaces_matches_and_is_recorded(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    reply = (
        "experiment.py\n<<<<<<< SEARCH\n    LEARNING_RATE = 1e-3\n    NUM_EPOCHS = 10\n=======\n"
        "    LEARNING_RATE = 2e-3\n    NUM_EPOCHS = 30\n>>>>>>> REPLACE\n\n"
        "experiment.py\n<<<<<<< SEARCH\nclass MLP(nn.Module):   \n=======\nclass Net(nn.Module):\n>>>>>>> REPLACE\n"
    )
    result = apply_edits(ws, parse_edits(reply), BOTH)
    assert [b.detail for b in result.blocks] == [
        "matched ignoring whitespace: the SEARCH text is indented 4 spaces more than the file",
        "matched ignoring trailing whitespace",
    ]
    text = (ws / "experiment.py").read_text()
    assert text.endswith("\nLEARNING_RATE = 2e-3\nNUM_EPOCHS = 30\n") and "\nclass Net(nn.Module):\n" in text


def test_an_indentation_that_differs_unevenly_does_not_match(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    uneven = UNINDENTED.replace(
        "def forward(self, x):\n    h = self.fc1", "def forward(self, x):\n        h = self.fc1", 1
    )
    with pytest.raises(EditError, match="block 1: the SEARCH text was not found"):
        apply_edits(ws, parse_edits(uneven), BOTH)
    assert (ws / "experiment.py").read_text() == EXPERIMENT


def failed_run() -> ExperimentRun:
    return ExperimentRun(run=1, attempt=1, ok=False, error="Traceback ...\nRuntimeError: loss is nan")


async def test_the_coder_applies_a_block_without_a_file_name_and_logs_it(tmp_path: Path) -> None:
    ctx, rec = make_context(Coder, tmp_path, model=[TWO_BLOCKS], params={"editable": ["experiment.py", "plot.py"]})
    ctx.workspace.mkdir(parents=True)
    (ctx.workspace / "experiment.py").write_text(EXPERIMENT)
    await Coder(ctx).handle(failed_run())
    (change,) = rec.of("code_change")
    assert change.files == ["experiment.py"] and change.mode == "edits" and change.changed  # type: ignore[attr-defined]
    assert "torch.relu(self.fc1(x))" in (ctx.workspace / "experiment.py").read_text()
    assert any("block 2 (experiment.py): no file name before it" in line for line in rec.logs)


async def test_the_coder_sends_back_which_block_failed_and_applies_the_corrected_reply(tmp_path: Path) -> None:
    seen: list[list[ChatMessage]] = []
    broken = TWO_BLOCKS.replace("        h = self.fc1(x)\n=======", "        h = self.layer1(x)\n=======")
    rate = "<<<<<<< SEARCH\nLEARNING_RATE = 1e-3\n=======\nLEARNING_RATE = 3e-3\n>>>>>>> REPLACE\n"
    replies = iter([broken, f"{UNINDENTED}\nThen the rate:\n\n{rate}"])

    def model(messages: list[ChatMessage]) -> str:
        seen.append(list(messages))
        return next(replies)

    ctx, rec = make_context(Coder, tmp_path, model=model, params={"editable": ["experiment.py"]})
    ctx.workspace.mkdir(parents=True)
    (ctx.workspace / "experiment.py").write_text(EXPERIMENT)
    await Coder(ctx).handle(failed_run())
    retry = str(seen[1][-1].content)
    assert "block 2: the SEARCH text was not found in experiment.py" in retry and "Nothing was applied" in retry
    (change,) = rec.of("code_change")
    assert change.mode == "edits" and change.changed  # type: ignore[attr-defined]
    text = (ctx.workspace / "experiment.py").read_text()
    assert "torch.relu(self.fc1(x))" in text and "LEARNING_RATE = 3e-3" in text
    assert any("block 1 (experiment.py): matched ignoring whitespace" in line for line in rec.logs)
