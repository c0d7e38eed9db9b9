"""Static checks of a paper folder before compiling: problems an LLM can fix from the message alone.

``check_paper`` follows ``\\input``/``\\include`` from the main file and reports: cite keys missing from
the .bib (or thebibliography), figures that do not exist in the folder, ``\\input`` files missing or
outside the folder, repeated ``\\section`` titles, unbalanced braces and ``\\begin``/``\\end`` mismatches,
and figures or tables with a ``\\label`` that no ``\\ref`` (``\\cref``, ``\\autoref``, ...) points to.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sciswarm.paper.bib import list_keys

_CITE_CMDS = (
    "cite|citep|citet|citealp|citealt|citeauthor|citeyear|citeyearpar|citenum|Cite|Citep|Citet|Citealp|"
    "Citealt|Citeauthor|parencite|Parencite|textcite|Textcite|autocite|Autocite|footcite|nocite"
)
_CITE = re.compile(rf"\\(?:{_CITE_CMDS})\*?(?![A-Za-z])\s*(?:\[[^\]]*\]\s*){{0,2}}\{{([^{{}}]*)\}}")
_GRAPHICS = re.compile(r"\\includegraphics\*?\s*(?:\[[^\]]*\]\s*)?\{([^{}]+)\}")
_GRAPHICSPATH = re.compile(r"\\graphicspath\s*\{((?:\{[^{}]*\}\s*)+)\}")
_INPUT = re.compile(r"\\(?:input|include|subfile)\s*\{([^{}]+)\}")
_BIBLIOGRAPHY = re.compile(r"\\(?:bibliography|addbibresource)\s*(?:\[[^\]]*\])?\s*\{([^{}]+)\}")
_BIBITEM = re.compile(r"\\bibitem\s*(?:\[[^\]]*\])?\s*\{([^{}]+)\}")
_SECTION = re.compile(r"\\section\*?\s*(?:\[[^\]]*\])?\s*\{")
_ENV = re.compile(r"\\(begin|end)\s*\{([^{}]+)\}")
_VERBATIM = re.compile(r"\\begin\{(verbatim\*?|Verbatim|lstlisting|minted|comment)\}.*?\\end\{\1\}", re.S)
_VERB = re.compile(r"\\verb\*?([^A-Za-z\s]).*?\1")
_COMMENT = re.compile(r"(?<!\\)((?:\\\\)*)%.*")
_FLOAT_ENV = re.compile(r"\\begin\s*\{((?:figure|table|wrapfigure|wraptable|sidewaysfigure|sidewaystable)\*?)\}")
_LABEL = re.compile(r"\\label\s*\{([^{}]+)\}")
_REF_CMDS = "ref|pageref|autoref|Autoref|nameref|cref|Cref|cpageref|Cpageref|vref|Vref|subref|labelcref|eqref"
_REF = re.compile(rf"\\(?:{_REF_CMDS})\*?\s*\{{([^{{}}]*)\}}")
_REF_RANGE = re.compile(r"\\[cC](?:page)?refrange\*?\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_HYPERREF = re.compile(r"\\hyperref\s*\[([^\]]+)\]")
IMAGE_EXTS = ("", ".pdf", ".png", ".jpg", ".jpeg", ".PDF", ".PNG", ".JPG", ".JPEG")
MAX_FILES = 50


@dataclass(frozen=True)
class Source:
    name: str  # path relative to the paper folder
    text: str  # comments and verbatim blanked out, line numbers preserved
    is_main: bool = False

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1


def strip_tex(text: str) -> str:
    """Blank out comments, verbatim environments and ``\\verb``, keeping every newline in place."""

    def blank(m: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    text = _VERBATIM.sub(blank, text)
    text = "\n".join(_COMMENT.sub(r"\1", _VERB.sub(blank, line)) for line in text.split("\n"))
    return text


def _inside(paper_dir: Path, rel: str) -> bool:
    return not rel.startswith(("/", "~")) and ".." not in Path(rel).parts


def load_sources(paper_dir: Path, main: str, problems: list[str]) -> list[Source]:
    """The main file and, recursively, the .tex files it inputs; problems for inputs that fail."""
    sources: list[Source] = []
    todo: list[tuple[str, str | None]] = [(main, None)]
    seen: set[str] = set()
    while todo and len(sources) < MAX_FILES:
        rel, origin = todo.pop(0)
        if not _inside(paper_dir, rel):
            problems.append(
                f"{origin}: \\input{{{rel}}} points outside the paper folder; only files inside it can be used."
            )
            continue
        path = paper_dir / rel
        if not path.is_file() and path.suffix != ".tex":
            path = path.with_name(path.name + ".tex")
        if not path.is_file():
            problems.append(f"{origin or rel}: input file `{rel}` does not exist in the paper folder.")
            continue
        name = str(path.relative_to(paper_dir))
        if name in seen:
            continue
        seen.add(name)
        src = Source(name, strip_tex(path.read_text(encoding="utf-8", errors="replace")), not sources)
        sources.append(src)
        for m in _INPUT.finditer(src.text):
            todo.append((m.group(1).strip(), f"{name}:{src.line_of(m.start())}"))
    return sources


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def cited_keys(text: str) -> set[str]:
    """The keys that cite commands (natbib, biblatex) in `text` refer to."""
    return {k for m in _CITE.finditer(text) for k in (x.strip() for x in m.group(1).split(",")) if k and k != "*"}


def check_citations(paper_dir: Path, sources: list[Source]) -> list[str]:
    cited: dict[str, list[str]] = defaultdict(list)
    for src in sources:
        for m in _CITE.finditer(src.text):
            for key in filter(None, (k.strip() for k in m.group(1).split(","))):
                cited[key].append(f"{src.name}:{src.line_of(m.start())}")
    cited.pop("*", None)
    if not cited:
        return []
    bibs = [b.strip() for s in sources for m in _BIBLIOGRAPHY.finditer(s.text) for b in m.group(1).split(",")]
    problems: list[str] = []
    known: list[str] = [m.group(1).strip() for s in sources for m in _BIBITEM.finditer(s.text)]
    for bib in filter(None, bibs):
        path = paper_dir / (bib if bib.endswith(".bib") else bib + ".bib")
        if not _inside(paper_dir, bib) or not path.is_file():
            problems.append(
                f"Bibliography file `{path.name}` (from \\bibliography{{{bib}}}) is not in the paper folder."
            )
            continue
        known += list_keys(path)
    if not bibs and not known:
        return [*problems, "Citations are used but there is no \\bibliography{...} and no thebibliography."]
    folded = {k.casefold(): k for k in known}
    for key, places in cited.items():
        if key in known:
            continue
        where = ", ".join(places[:3]) + (" ..." if len(places) > 3 else "")
        if key.casefold() in folded:
            problems.append(
                f"Cite key `{key}` ({where}) differs in case from `{folded[key.casefold()]}` in the bibliography."
            )
        else:
            problems.append(
                f"Cite key `{key}` ({where}) is not in the bibliography{_suggest(key, known)}; "
                "cite only keys defined there, or add the BibTeX entry."
            )
    return problems


def check_figures(paper_dir: Path, sources: list[Source]) -> list[str]:
    dirs = [""] + [
        d for s in sources for m in _GRAPHICSPATH.finditer(s.text) for d in re.findall(r"\{([^{}]*)\}", m.group(1))
    ]
    images = sorted(str(p.relative_to(paper_dir)) for p in paper_dir.rglob("*") if p.suffix.lower() in IMAGE_EXTS[1:5])
    problems: list[str] = []
    for src in sources:
        for m in _GRAPHICS.finditer(src.text):
            name, where = m.group(1).strip(), f"{src.name}:{src.line_of(m.start())}"
            if not _inside(paper_dir, name):
                problems.append(f"{where}: figure `{name}` points outside the paper folder; use a file inside it.")
                continue
            if any(
                (paper_dir / d / (name + ext)).is_file()
                for d in dirs
                if _inside(paper_dir, d or ".")
                for ext in IMAGE_EXTS
            ):
                continue
            avail = ", ".join(images[:12]) or "none"
            problems.append(
                f"{where}: figure file `{name}` does not exist{_suggest(name, images)}. Available images: {avail}."
            )
    return problems


def _braced(text: str, start: int) -> str:
    depth, i = 1, start
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start : i - 1]


def check_sections(sources: list[Source]) -> list[str]:
    places: dict[str, list[str]] = defaultdict(list)
    titles: dict[str, str] = {}
    for src in sources:
        for m in _SECTION.finditer(src.text):
            title = " ".join(_braced(src.text, m.end()).split())
            places[title.casefold()].append(f"{src.name}:{src.line_of(m.start())}")
            titles.setdefault(title.casefold(), title)
    return [
        f"Section `{titles[k]}` appears {len(v)} times ({', '.join(v)}); merge them into one section."
        for k, v in places.items()
        if len(v) > 1
    ]


def check_balance(src: Source) -> list[str]:
    """Braces (escapes skipped) everywhere; \\begin/\\end pairs in the body (from \\begin{document})."""
    problems: list[str] = []
    stack: list[int] = []
    text, i = src.text, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            stack.append(i)
        elif ch == "}":
            if not stack:
                problems.append(f"{src.name}:{src.line_of(i)}: unmatched `}}`.")
            else:
                stack.pop()
        i += 1
    problems += [f"{src.name}:{src.line_of(p)}: `{{` is never closed." for p in stack[:3]]
    body_start = text.find("\\begin{document}") if src.is_main else 0
    envs: list[tuple[str, int]] = []
    for m in _ENV.finditer(text, max(body_start, 0)):
        kind, name, line = m.group(1), m.group(2).strip(), src.line_of(m.start())
        if kind == "begin":
            envs.append((name, line))
        elif not envs:
            problems.append(f"{src.name}:{line}: \\end{{{name}}} without a matching \\begin{{{name}}}.")
        elif envs[-1][0] != name:
            open_name, open_line = envs.pop()
            problems.append(
                f"{src.name}:{line}: \\end{{{name}}} does not match \\begin{{{open_name}}} on line {open_line}."
            )
        else:
            envs.pop()
        if name == "document" and kind == "end":
            break
    problems += [f"{src.name}:{line}: \\begin{{{name}}} is never ended." for name, line in envs[:3]]
    return problems


def referenced_labels(sources: list[Source]) -> set[str]:
    """Every key a \\ref-like command (comma lists, ranges, \\hyperref[key]) points to."""
    keys: set[str] = set()
    for src in sources:
        for m in _REF.finditer(src.text):
            keys.update(k.strip() for k in m.group(1).split(",") if k.strip())
        for m in _REF_RANGE.finditer(src.text):
            keys.update((m.group(1).strip(), m.group(2).strip()))
        keys.update(m.group(1).strip() for m in _HYPERREF.finditer(src.text))
    return keys


def check_references(sources: list[Source]) -> list[str]:
    """Figures and tables that have labels of which none is referenced in the text."""
    referenced = referenced_labels(sources)
    problems: list[str] = []
    for src in sources:
        for m in _FLOAT_ENV.finditer(src.text):
            env = m.group(1)
            end = src.text.find(f"\\end{{{env}}}", m.end())
            body = src.text[m.end() : end if end >= 0 else len(src.text)]
            labels = [x.group(1).strip() for x in _LABEL.finditer(body)]
            if not labels or any(k in referenced for k in labels):
                continue
            what = "table" if "table" in env else "figure"
            problems.append(
                f"{src.name}:{src.line_of(m.start())}: the {what} labelled `{labels[0]}` is never referenced in the "
                f"text; refer to it where the text discusses it ({what.capitalize()}~\\ref{{{labels[0]}}}), "
                f"or remove the {what} if the text does not need it."
            )
    return problems


def check_paper(paper_dir: Path, main: str = "template.tex") -> list[str]:
    """Human-readable problems in the paper folder, [] if none were found."""
    paper_dir = Path(paper_dir)
    problems: list[str] = []
    sources = load_sources(paper_dir, main, problems)
    if not sources:
        return problems
    problems += check_citations(paper_dir, sources)
    problems += check_figures(paper_dir, sources)
    problems += check_sections(sources)
    problems += check_references(sources)
    for src in sources:
        problems += check_balance(src)
    return problems
