"""final_info.json: the shapes AI-Scientist templates write are accepted, anything else is named and rejected."""

from __future__ import annotations

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
    ],
)
def test_validate_final_info_rejects(data: object, message: str) -> None:
    with pytest.raises(FinalInfoError, match=message.replace("(", r"\(").replace(".", r"\.")):
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
