"""final_info.json: the shapes AI-Scientist templates and models write are accepted (nested metrics as dotted names,
an entry of metrics without "means"), anything else is named and rejected."""

from __future__ import annotations

import re

import pytest

from sciswarm.templates import FinalInfoError, validate_final_info


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "top level must be an object"),
        ({}, "final_info.json is empty"),
        ({"eval_loss": 0.3}, "entry 'eval_loss' must be an object with a 'means' key"),
        ({"d": {"means": [1.0]}}, "'d'.means must be a non-empty object"),
        ({"d": {"means": {}}}, "got an empty object"),
        ({"d": {"means": {"loss": "0.1"}}}, "'d'.means.loss must be a number, got a string"),
        ({"d": {"means": {"loss": None}}}, "'d'.means.loss must be a number, got null"),
        ({"d": {"means": {"probe": {"acc": "high"}}}}, "'d'.means.probe.acc must be a number, got a string"),
        ({"d": {"means": {"probe": {}}}}, "'d'.means must be a non-empty object of metric -> number, got an empty"),
        ({"d": {"note": "diverged", "curve": [1, 2]}}, "got an object with keys ['curve', 'note'] and no number"),
    ],
)
def test_validate_final_info_rejects(data: object, message: str) -> None:
    with pytest.raises(FinalInfoError, match=re.escape(message)):
        validate_final_info(data)


def test_validate_final_info_accepts_ai_scientist_shapes() -> None:
    data = {
        "x_div_y": {
            "means": {"final_val_acc_mean": 0.99, "step_val_acc_99_mean": 4000, "ok": True},
            "stderrs": {"final_val_acc_stderr": 0.01},
            "final_info_dict": {"final_val_acc": [0.98, 1.0]},
        },
        "nan_run": {"means": {"loss": float("nan")}},
    }
    out = validate_final_info(data)
    assert out["x_div_y"] == {"final_val_acc_mean": 0.99, "step_val_acc_99_mean": 4000.0, "ok": 1.0}
    assert out["nan_run"]["loss"] != out["nan_run"]["loss"]


def test_nested_metrics_and_a_flat_entry_are_read_with_dotted_names() -> None:
    data = {
        "shakespeare_char": {
            "means": {"final_train_loss_mean": 0.8083, "probe": {"acc": 0.91, "layers": {"last": 0.5}}},
            "stderrs": {"final_train_loss_stderr": 0.0042},
        },
        "enwik8": {"final_train_loss_mean": 0.9312, "nested": {"a": 1}, "note": "seed 0 only", "curve": [1.0, 0.9]},
    }
    assert validate_final_info(data) == {
        "shakespeare_char": {"final_train_loss_mean": 0.8083, "probe.acc": 0.91, "probe.layers.last": 0.5},
        "enwik8": {"final_train_loss_mean": 0.9312, "nested.a": 1.0},
    }
