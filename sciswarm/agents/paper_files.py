"""The paper folder of one idea, as the writer sees it: the main .tex, the bibliography and its keys, and the
last version that compiled."""

from __future__ import annotations

import re
from pathlib import Path

from sciswarm.paper.sections import TexDocument


class PaperFiles:
    def __init__(self, folder: Path, main: str = "template.tex") -> None:
        self.folder = folder
        self.main = main
        self.tex = folder / main

    @property
    def last_good_tex(self) -> Path:
        """The LaTeX of the last PDF that compiled (the template's until then): where broken parts go back to."""
        return self.folder / "last_good.tex"

    def doc(self) -> TexDocument:
        return TexDocument(self.tex.read_text())

    def save(self, doc: TexDocument) -> None:
        self.tex.write_text(doc.text)

    def bib(self) -> Path:
        bibs = sorted(self.folder.glob("*.bib"))
        return bibs[0] if bibs else self.folder / "references.bib"

    def keys(self) -> list[str]:
        """Cite keys the paper can use: the .bib file's and any inline \\bibitem's."""
        from sciswarm.paper import list_keys

        inline = re.findall(r"\\bibitem(?:\[[^\]]*\])?\{([^}]+)\}", self.tex.read_text())
        return list_keys(self.bib()) + inline
