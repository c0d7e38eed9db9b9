"""The numbers a paper's LaTeX states, with where they are and how precisely they are written.

Skipped, since they are not claims: anything inside citation, reference, label, file and layout commands,
lengths (``0.9\\linewidth``), sub- and superscript indices (``x_0``), numbers glued to words (``2-D``, ``l2``),
numbers after Figure/Table/Section/Eq./Appendix/run/seed, and small integers (0-10: counts and indices, too
ambiguous to trace). Understood: ``8{,}000`` and ``2,000``; ``3\\times10^{-3}``, ``10^{-4}``, ``1e-4``;
``12\\%`` and ``12%``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMENT = re.compile(r"(?<!\\)%.*")
_NON_PROSE = re.compile(
    r"\\(?:cite[a-z]*|[cC]?ref|autoref|eqref|label|input|include|includegraphics|url|href|begin|end|"
    r"usepackage|bibliography(?:style)?|[hv]space\*?|resizebox|scalebox|setlength|addtolength|small|"
    r"footnotesize|centering)\*?(?:\s*\[[^\]]*\])*(?:\s*\{[^{}]*\})*"
)
_LENGTH = re.compile(r"\d*\.?\d+\s*(?:\\(?:line|text|column)width|pt|mm|cm|em|ex|in)\b")
_NUMBER = re.compile(
    r"(?<![\w.\\^_{-])"  # not glued to a word, an index or a command
    r"(?P<mant>\d{1,3}(?:(?:\{,\}|,)\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<exp>\s*\\times\s*10\^\{?\s*(?P<e1>[-\u2212]?\d+)\s*\}?|[eE](?P<e2>[-+]?\d+))?"
    r"(?P<pct>\s*\\?%)?"
    r"(?![\w-]*[a-zA-Z])"  # not followed by letters: 2-D, 3rd, 5x
)
_POWER = re.compile(r"(?<![\d.])10\^\{?\s*(?P<e>[-\u2212]?\d+)\s*\}?")
_REFERENCE_WORDS = re.compile(
    r"(?:Figure|Fig\.|Table|Tab\.|Section|Sec\.|Eq\.|Equation|Appendix|Algorithm|run|Run|runs|Runs|seed|Seed|"
    r"step|Step|line|Line|page|Page|Chapter)[~\s]*$"
)
SMALL = 10


@dataclass(frozen=True)
class NumberMention:
    text: str  # as written, e.g. "0.312", "12\\%", "3\\times10^{-3}"
    value: float  # the number (12 for "12%": see percent)
    decimals: int  # digits after the point in the mantissa (precision as written)
    percent: bool
    start: int
    end: int
    sentence: str  # the sentence it is in, LaTeX stripped of commands, for context and messages

    @property
    def tolerance(self) -> float:
        """Half a unit in the last written digit, relative to the exponent when there is one."""
        scale = abs(self.value) / float(self.mantissa) if self.mantissa else 1.0
        return 0.5 * 10.0 ** (-self.decimals) * scale + 1e-12

    @property
    def mantissa(self) -> float:
        m = re.match(r"[\d.,{}]+", self.text)
        return float(m.group(0).replace("{,}", "").replace(",", "")) if m and m.group(0).strip(".") else 1.0

    @property
    def trivial(self) -> bool:
        return not self.percent and self.decimals == 0 and float(self.value).is_integer() and abs(self.value) <= SMALL


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


_END = re.compile(r"[.!?](?=\s)|\n\s*\n")


def _sentence(text: str, start: int, end: int) -> str:
    ends = [m.end() for m in _END.finditer(text)]
    left = max((e for e in ends if e <= start), default=0)
    right = min((e for e in ends if e >= end), default=len(text))
    raw = text[left:right]
    raw = re.sub(r"\\(?:input|include|label|ref|cref|cite[a-z]*)\{[^}]*\}", " ", raw.replace("\\%", "%"))
    raw = re.sub(r"\\[a-zA-Z]+\*?", " ", raw)
    raw = raw.replace("{", "").replace("}", "").replace("$", "").replace("~", " ")
    return " ".join(raw.split())


def find_numbers(latex: str, *, include_trivial: bool = False) -> list[NumberMention]:
    """The numbers stated in a piece of LaTeX (positions index into ``latex``)."""
    text = _blank(latex, _COMMENT)
    text = _blank(text, _NON_PROSE)
    text = _blank(text, _LENGTH)
    out: list[NumberMention] = []
    taken: list[tuple[int, int]] = []
    for m in _POWER.finditer(text):
        before = text[max(0, m.start() - 12) : m.start()]
        if re.search(r"\\times\s*$", before):
            continue  # part of a mantissa x 10^e, found below
        power = int(m.group("e").replace("\u2212", "-"))
        sent = _sentence(latex, m.start(), m.end())
        out.append(NumberMention(m.group(0), 10.0**power, 0, False, m.start(), m.end(), sent))
        taken.append((m.start(), m.end()))
    for m in _NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        if _REFERENCE_WORDS.search(text[max(0, m.start() - 12) : m.start()]):
            continue
        mant = m.group("mant")
        digits = mant.replace("{,}", "").replace(",", "")
        decimals = len(digits.split(".", 1)[1]) if "." in digits else 0
        value = float(digits)
        exp = m.group("e1") or m.group("e2")
        if exp:
            value *= 10.0 ** int(exp.replace("\u2212", "-"))
        mention = NumberMention(
            text=m.group(0).strip(),
            value=value,
            decimals=decimals,
            percent=bool(m.group("pct")),
            start=m.start(),
            end=m.end(),
            sentence=_sentence(latex, m.start(), m.end()),
        )
        if include_trivial or not mention.trivial:
            out.append(mention)
    return sorted(out, key=lambda n: n.start)
