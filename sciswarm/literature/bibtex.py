"""BibTeX for search results: stable cite keys, cleanup of Semantic Scholar's entries, generation.

Semantic Scholar's ``citationStyles.bibtex`` is close to BibTeX but not quite: the entry type is often a
Python list (``@['JournalArticle', 'Conference']{...``) or ``@None``, keys may hold non-ASCII letters, and
values are not escaped for LaTeX. ``normalize_bibtex`` parses such an entry and writes it back as valid
BibTeX under our own cite key, so every paper is cited the same way whichever engine found it.
"""

from __future__ import annotations

import re
import unicodedata

from sciswarm.literature.models import Paper, surname

STANDARD_TYPES = {
    "article",
    "book",
    "booklet",
    "inbook",
    "incollection",
    "inproceedings",
    "manual",
    "mastersthesis",
    "misc",
    "phdthesis",
    "proceedings",
    "techreport",
    "unpublished",
}
_STOPWORDS = {
    "a", "an", "the", "on", "of", "in", "for", "to", "with", "and", "or", "via", "from", "by", "at", "as",
    "is", "are", "be", "do", "does", "can", "we", "towards", "toward", "into", "using", "what", "when",
    "how", "why", "its", "it", "not", "beyond", "about",
}  # fmt: skip
_CONFERENCE_HINTS = re.compile(
    r"conference|proceedings|symposium|workshop|neurips|nips|icml|iclr|cvpr|iccv|eccv|aaai|ijcai|"
    r"acl|emnlp|naacl|coling|colt|uai|aistats|kdd|sigir|interspeech|icassp",
    re.IGNORECASE,
)
_NO_ESCAPE_FIELDS = {"url", "doi", "eprint"}
_FIELD_ORDER = ["title", "author", "booktitle", "journal", "volume", "number", "pages", "year", "doi"]


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def cite_key(paper: Paper) -> str:
    """Stable key: first author's surname + year + first significant title word (``ho2020denoising``)."""
    author = _ascii_word(surname(paper.authors[0])) if paper.authors else ""
    word = ""
    for token in re.split(r"[\s\-:/]+", paper.title):
        candidate = _ascii_word(token)
        if candidate and candidate not in _STOPWORDS:
            word = candidate
            break
    year = str(paper.year) if paper.year else "nd"
    return f"{author or 'anon'}{year}{word}"


def escape_latex(value: str) -> str:
    """Escape the characters that break LaTeX in plain bibliography text (idempotent)."""
    return re.sub(r"(?<!\\)([&%#_])", r"\\\1", value)


def _format_entry(entry_type: str, key: str, fields: dict[str, str]) -> str:
    ordered = [f for f in _FIELD_ORDER if f in fields] + sorted(f for f in fields if f not in _FIELD_ORDER)
    lines = []
    for name in ordered:
        value = re.sub(r"\s+", " ", fields[name]).strip()
        if name not in _NO_ESCAPE_FIELDS:
            value = escape_latex(value)
        lines.append(f"  {name} = {{{value}}}")
    return f"@{entry_type}{{{key},\n" + ",\n".join(lines) + "\n}\n"


def _read_braced(text: str, start: int) -> tuple[str, int]:
    """Value starting with '{' at ``start``: returns (inner text, index after the closing brace)."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif text[i] == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    raise ValueError("unbalanced braces")


def parse_bibtex(text: str) -> tuple[str, str, dict[str, str]]:
    """Parse one entry into (raw type, key, fields with lower-case names). Raises ValueError."""
    head = re.search(r"@\s*([^{]*)\{\s*([^,\s]*)\s*,", text)
    if head is None:
        raise ValueError("no BibTeX entry header")
    fields: dict[str, str] = {}
    pos = head.end()
    field_re = re.compile(r"\s*,?\s*([A-Za-z][\w\-]*)\s*=\s*")
    while True:
        match = field_re.match(text, pos)
        if match is None:
            break
        name, pos = match.group(1).lower(), match.end()
        if pos < len(text) and text[pos] == "{":
            value, pos = _read_braced(text, pos)
        elif pos < len(text) and text[pos] == '"':
            end = text.index('"', pos + 1)
            value, pos = text[pos + 1 : end], end + 1
        else:
            bare = re.match(r"[^,}\s]*", text[pos:])
            value = bare.group(0) if bare else ""
            pos += len(value)
        fields[name] = value
    if not re.match(r"\s*,?\s*\}", text[pos:]):
        raise ValueError("malformed BibTeX entry")
    return head.group(1).strip(), head.group(2), fields


def _entry_type(raw_type: str, fields: dict[str, str]) -> str:
    kind = raw_type.strip().lower()
    if kind == "conference":
        return "inproceedings"
    if kind in STANDARD_TYPES:
        return kind
    if "booktitle" in fields:
        return "inproceedings"
    if "journal" in fields:
        return "article"
    return "misc"


def normalize_bibtex(text: str, key: str) -> str:
    """Rewrite an engine's BibTeX entry as valid BibTeX under ``key``. Raises ValueError if unparsable."""
    raw_type, _, fields = parse_bibtex(text)
    if "title" not in fields:
        raise ValueError("BibTeX entry has no title")
    return _format_entry(_entry_type(raw_type, fields), key, fields)


def generate_bibtex(paper: Paper, key: str | None = None) -> str:
    """BibTeX built from the paper's metadata (used when the engine gave none)."""
    fields: dict[str, str] = {"title": paper.title.replace("{", "").replace("}", "")}
    if paper.authors:
        fields["author"] = " and ".join(a.replace("{", "").replace("}", "") for a in paper.authors)
    if paper.year:
        fields["year"] = str(paper.year)
    venue = (paper.venue or "").replace("{", "").replace("}", "").strip()
    if venue and "arxiv" not in venue.lower() and _CONFERENCE_HINTS.search(venue):
        entry_type, fields["booktitle"] = "inproceedings", venue
    elif venue and "arxiv" not in venue.lower():
        entry_type, fields["journal"] = "article", venue
    elif paper.arxiv_id:
        entry_type, fields["journal"] = "article", f"arXiv preprint arXiv:{paper.arxiv_id}"
    else:
        entry_type = "misc"
    if paper.arxiv_id:
        fields["eprint"], fields["archiveprefix"] = paper.arxiv_id, "arXiv"
    if paper.doi:
        fields["doi"] = paper.doi
    elif paper.url:
        fields["url"] = paper.url
    return _format_entry(entry_type, key or cite_key(paper), fields)


def bibtex_for(paper: Paper) -> str:
    """The paper's engine BibTeX cleaned up, or generated from metadata when absent or unparsable."""
    if paper.bibtex:
        try:
            return normalize_bibtex(paper.bibtex, cite_key(paper))
        except ValueError:
            pass
    return generate_bibtex(paper)


def key_words(key: str) -> str:
    """A search query from a cite key's words: ``Ho2020DenoisingDP`` -> ``Ho Denoising DP``, ``smith_etal_dropout``
    -> ``smith dropout`` (the year is left out: it matches records, it does not find them)."""
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", key)
    return " ".join(w for w in words if w.lower() not in {"et", "al", "etal"})


def key_matches(key: str, paper: Paper) -> bool:
    """Whether a cite key names this record: it is the record's stable key (``cite_key``) or its engine's own
    BibTeX key, case aside; or it reads surname + year + title word (``ho2020denoising``, ``Ho_2020_diffusion``)
    with the record's first author's surname, the record's year and the start of one of its significant
    title words (three letters at least)."""
    folded = key.casefold()
    if folded == cite_key(paper).casefold():
        return True
    if paper.bibtex:
        head = re.search(r"@[^{]*\{\s*([^,\s]+)\s*,", paper.bibtex)
        if head and head.group(1).casefold() == folded:
            return True
    m = re.fullmatch(r"([a-z]+)[^a-z0-9]*((?:19|20)\d\d)[^a-z0-9]*([a-z]*)[^a-z0-9]*", _ascii_word_keep(folded))
    if m is None or not paper.authors or paper.year != int(m.group(2)) or len(m.group(3)) < 3:
        return False
    if _ascii_word(surname(paper.authors[0])) != m.group(1):
        return False
    word = m.group(3)
    titles = (_ascii_word(t) for t in re.split(r"[\s\-:/]+", paper.title))
    return any(len(w) >= 3 and w not in _STOPWORDS and (word.startswith(w) or w.startswith(word)) for w in titles)


def _ascii_word_keep(text: str) -> str:
    """ASCII-folded, lower-case, separators kept (for reading a key's parts)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
