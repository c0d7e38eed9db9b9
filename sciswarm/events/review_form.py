"""The review form (The AI Scientist's NeurIPS form) and how what real models write is read into it.

Read where the meaning is clear, every changed value listed in ``Normalised`` (kept out of the JSON schema the
model is sent): the form's keys as AI-Scientist spells them ("Ethical Concerns") or in another case or with
spaces, hyphens or underscores; one text where a list is wanted (a list of that one text); a score between two
whole points (3.5) rounded half up; a score outside its scale (5 on 1-4) clamped to the scale. Anything else is a
validation error naming the field and what it expects, which the conversation sends back in its re-ask.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

SCALES: dict[str, tuple[int, int]] = {
    "Originality": (1, 4),
    "Quality": (1, 4),
    "Clarity": (1, 4),
    "Significance": (1, 4),
    "Soundness": (1, 4),
    "Presentation": (1, 4),
    "Contribution": (1, 4),
    "Overall": (1, 10),
    "Confidence": (1, 5),
}
LISTS = ("Strengths", "Weaknesses", "Questions", "Limitations")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def _squash(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _score(name: str, value: Any, notes: list[str]) -> Any:
    """A whole score on the field's scale when the value is a number (or a number in a string); else as given."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return value
    if isinstance(value, str):
        if not _NUMBER.fullmatch(value.strip()):
            return value
        value = float(value)
    if not math.isfinite(value):
        return value
    lo, hi = SCALES[name]
    whole = math.floor(value + 0.5)
    said = [f"{value:g} rounded to {whole}"] if whole != value else []
    if not lo <= whole <= hi:
        said.append(f"{whole} is outside {lo}-{hi}, clamped to {min(max(whole, lo), hi)}")
        whole = min(max(whole, lo), hi)
    if said:
        notes.append(f"{name}: " + ", ".join(said))
    return whole


class ReviewScores(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    Summary: str
    Strengths: list[str]
    Weaknesses: list[str]
    Questions: list[str] = Field(default_factory=list)
    Limitations: list[str] = Field(default_factory=list)
    Ethical_Concerns: bool = False
    Originality: int = Field(ge=1, le=4)
    Quality: int = Field(ge=1, le=4)
    Clarity: int = Field(ge=1, le=4)
    Significance: int = Field(ge=1, le=4)
    Soundness: int = Field(ge=1, le=4)
    Presentation: int = Field(ge=1, le=4)
    Contribution: int = Field(ge=1, le=4)
    Overall: int = Field(ge=1, le=10)
    Confidence: int = Field(ge=1, le=5)
    Decision: Literal["Accept", "Reject"]
    # what was changed in reading the model's JSON (e.g. "Clarity: 3.5 rounded to 4"); not asked of the model
    Normalised: SkipJsonSchema[list[str]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _read_as_written(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        names = {_squash(name): name for name in cls.model_fields}
        out: dict[str, Any] = {}
        given: dict[str, str] = {}
        for key, value in data.items():
            name = names.get(_squash(key), key) if isinstance(key, str) else key
            if name in out and out[name] != value:
                raise ValueError(f"{name} is given twice ({given[name]!r} and {key!r}) with different values")
            out[name], given[name] = value, key
        notes = [str(n) for n in out.get("Normalised") or [] if isinstance(n, str)]
        for name in LISTS:
            if isinstance(out.get(name), str):
                text = out[name].strip()
                out[name] = [text] if text else []
                notes.append(f"{name}: one text read as a list of {len(out[name])}")
        for name in SCALES:
            if name in out:
                out[name] = _score(name, out[name], notes)
        if isinstance(out.get("Decision"), str) and out["Decision"].strip().lower() in ("accept", "reject"):
            out["Decision"] = out["Decision"].strip().capitalize()
        out["Normalised"] = list(dict.fromkeys(notes))
        return out

    @field_validator(*SCALES, mode="before")
    @classmethod
    def _whole_score(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        lo, hi = SCALES[str(info.field_name)]
        raise ValueError(f"expected a whole number from {lo} to {hi}, got {value!r}")
