"""Find and replace the parts of a LaTeX paper the writer fills: title, abstract, sections.

Works on any article-style template (ours or one written for The AI Scientist): a section's body
is everything after its `\\section{...}` (and `\\label{...}`) up to the next section, the
bibliography or the end of the document, so placeholder text is replaced whatever it says.
"""

from __future__ import annotations

import re

_SECTION = re.compile(r"\\section\*?\{([^}]*)\}[ \t]*(?:\n?[ \t]*\\label\{[^}]*\})?")
_END_OF_BODY = re.compile(
    r"\\section\*?\{|\\bibliographystyle\{|\\bibliography\{|\\appendix\b|\\begin\{thebibliography\}|\\end\{document\}"
)
_TITLE = re.compile(r"\\title\{")
_ABSTRACT = re.compile(r"(\\begin\{abstract\})(.*?)(\\end\{abstract\})", re.DOTALL)


def part_key(name: str) -> str:
    """What makes two section names the same part: "Conclusions and Future Work" ~ "Conclusion"."""
    return re.sub(r"[^a-z]", "", name.lower())[:6]


def _braced_end(text: str, open_brace: int) -> int:
    depth = 0
    for i in range(open_brace, len(text)):
        if text[i] == "{" and text[i - 1] != "\\":
            depth += 1
        elif text[i] == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced braces after \\title")


class TexDocument:
    def __init__(self, text: str) -> None:
        self.text = text

    def sections(self) -> list[tuple[str, int, int]]:
        """(header name, body start, body end) for every \\section."""
        out = []
        for m in _SECTION.finditer(self.text):
            end = _END_OF_BODY.search(self.text, m.end())
            out.append((m.group(1).strip(), m.end(), end.start() if end else len(self.text)))
        return out

    def _find(self, name: str) -> tuple[str, int, int] | None:
        want = part_key(name)
        for sec in self.sections():
            if part_key(sec[0]) == want:
                return sec
        return None

    def has_section(self, name: str) -> bool:
        return self._find(name) is not None

    def get_section(self, name: str) -> str:
        sec = self._find(name)
        return self.text[sec[1] : sec[2]].strip() if sec else ""

    def set_section(self, name: str, body: str) -> None:
        sec = self._find(name)
        if sec is None:
            end = _END_OF_BODY.search(self.text, self.sections()[-1][2] if self.sections() else 0)
            at = end.start() if end else len(self.text)
            if end and end.group(0).startswith("\\section"):
                at = len(self.text)
            self.text = self.text[:at] + f"\\section{{{name}}}\n{body.strip()}\n\n" + self.text[at:]
            return
        self.text = self.text[: sec[1]] + "\n" + body.strip() + "\n\n" + self.text[sec[2] :]

    def append_to_section(self, name: str, sentence: str) -> bool:
        sec = self._find(name)
        if sec is None:
            return False
        body = self.text[sec[1] : sec[2]].rstrip()
        self.text = self.text[: sec[1]] + body + "\n" + sentence.strip() + "\n\n" + self.text[sec[2] :]
        return True

    def get_title(self) -> str:
        m = _TITLE.search(self.text)
        if not m:
            return ""
        return self.text[m.end() : _braced_end(self.text, m.end() - 1)]

    def set_title(self, title: str) -> None:
        m = _TITLE.search(self.text)
        if not m:
            return
        end = _braced_end(self.text, m.end() - 1)
        self.text = self.text[: m.end()] + title.strip() + self.text[end:]

    def get_abstract(self) -> str:
        m = _ABSTRACT.search(self.text)
        return m.group(2).strip() if m else ""

    def set_abstract(self, abstract: str) -> None:
        m = _ABSTRACT.search(self.text)
        if m:
            self.text = self.text[: m.start(2)] + "\n" + abstract.strip() + "\n" + self.text[m.end(2) :]

    def part_at_line(self, line: int) -> str | None:
        """Which writer part ('Abstract', a section name) holds 1-based `line`; None for preamble."""
        offset = sum(len(x) + 1 for x in self.text.split("\n")[: max(0, line - 1)])
        m = _ABSTRACT.search(self.text)
        if m and m.start() <= offset <= m.end():
            return "Abstract"
        for name, start, end in self.sections():
            if start - 80 <= offset <= end:
                return name
        return None
