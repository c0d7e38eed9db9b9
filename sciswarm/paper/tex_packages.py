"""Which Debian package provides a LaTeX file (.sty, .cls, .bst), for the hint shown when one is missing.

A small table of what research papers (and The AI Scientist's templates) use, as Debian 12 ships it; an unknown
file gets the two packages most files of that kind come from. No apt-file or network is needed.
"""

from __future__ import annotations

from pathlib import PurePath

_BY_PACKAGE = {
    "texlive-latex-base": (
        "hyperref natbib amsmath amsthm graphicx fancyhdr geometry times helvet courier bm url colortbl xspace "
        "tabularx multicol pifont textcomp fontenc inputenc xr array calc verbatim ifthen article report book"
    ),
    "texlive-base": "amssymb amsfonts",
    "texlive-latex-recommended": (
        "booktabs subcaption caption subfig xcolor microtype float mathtools listings pdfpages setspace "
        "fancyvrb mathrsfs eso-pic"
    ),
    "texlive-latex-extra": (
        "cleveref multirow titletoc titlesec nicefrac units wrapfig subfigure enumitem tcolorbox placeins lipsum "
        "threeparttable makecell adjustbox sidecap thmtools cancel todonotes comment minted environ trimspaces "
        "import overpic framed mdframed upgreek authblk csquotes xargs bigstrut"
    ),
    "texlive-science": "algorithm algorithmic algorithmicx algpseudocode algorithm2e siunitx physics stmaryrd",
    "texlive-pictures": "tikz pgf pgfplots forest tikz-cd",
    "texlive-fonts-recommended": "wasysym marvosym",
    "texlive-fonts-extra": "dsfont bbm bbding fontawesome5 inconsolata newtxtext newtxmath libertine",
    "texlive-plain-generic": "soul",
    "texlive-bibtex-extra": "biblatex",
}
_TABLE = {name: pkg for pkg, names in _BY_PACKAGE.items() for name in names.split()}
_BST = {"plain": "texlive-base", "plainnat": "texlive-latex-base", "abbrvnat": "texlive-latex-base"}
UNKNOWN = "texlive-latex-extra or texlive-science"


def debian_package(filename: str) -> str:
    """The Debian package that provides ``filename`` (e.g. ``cleveref.sty``), or UNKNOWN's two likely ones."""
    path = PurePath(filename)
    if path.suffix == ".bst":
        return _BST.get(path.stem, "texlive-bibtex-extra")
    return _TABLE.get(path.stem, UNKNOWN)


def is_package_file(filename: str) -> bool:
    """A file a TeX installation provides (a package, class or bibliography style), not one the paper has."""
    return PurePath(filename).suffix in (".sty", ".cls", ".bst")


def install_command(filenames: list[str]) -> str:
    """``apt-get install -y ...`` for the Debian packages that provide ``filenames`` (unknown ones: both)."""
    pkgs: dict[str, None] = {}
    for name in filenames:
        for pkg in debian_package(name).split(" or "):
            pkgs[pkg] = None
    return "apt-get install -y " + " ".join(pkgs)


def missing_hint(filename: str) -> str:
    """One sentence for a missing ``filename``: what it is and where to get it."""
    what = {".cls": "document class", ".bst": "bibliography style"}.get(PurePath(filename).suffix, "LaTeX package")
    pkg = debian_package(filename)
    return (
        f"the {what} {filename} is not installed on this host: install the Debian package {pkg} "
        f"(`{install_command([filename])}`, or scripts/setup.sh as root), or put {filename} beside the .tex"
    )
