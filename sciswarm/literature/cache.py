"""Persistent search cache: one SQLite file, keyed by (engine, normalised query, limit).

A hit never touches the network. The cache can be exported to / imported from a readable JSON file, so a
demo can ship the searches it needs (``LiteratureConfig.seed_cache_json``). JSON format::

    {
      "format": "sciswarm.literature-cache/1",
      "entries": [
        {"engine": "semanticscholar", "query": "denoising diffusion", "limit": 10,
         "created_at": 1718000000.0,
         "papers": [{"paper_id": "...", "title": "...", "abstract": "...", "year": 2020, "venue": "...",
                     "authors": ["Jonathan Ho", "..."], "citation_count": 1, "url": "...", "doi": null,
                     "arxiv_id": "2006.11239", "bibtex": "@inproceedings{...}", "source": "semanticscholar"}]}
      ]
    }

Only ``query``, ``limit`` and each paper's ``paper_id`` and ``title`` are required; ``engine`` defaults
to "semanticscholar". Queries are matched case- and whitespace-insensitively.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, TypeAdapter

from sciswarm.literature.models import Paper, normalize_query

FORMAT = "sciswarm.literature-cache/1"
_PAPERS = TypeAdapter(list[Paper])
_SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    engine TEXT NOT NULL,
    query TEXT NOT NULL,
    lim INTEGER NOT NULL,
    n INTEGER NOT NULL,
    papers TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (engine, query, lim)
)
"""


class CacheEntry(BaseModel):
    engine: str = "semanticscholar"
    query: str
    limit: int = Field(ge=1)
    created_at: float | None = None
    papers: list[Paper]


class CacheFile(BaseModel):
    format: Literal["sciswarm.literature-cache/1"] = "sciswarm.literature-cache/1"
    entries: list[CacheEntry] = Field(default_factory=list)


class LiteratureCache:
    """Thread-safe (one connection behind a lock); the async methods run it in a worker thread."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        target = str(self.path) if self.path is not None else ":memory:"
        self._db = sqlite3.connect(target, timeout=30, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get_sync(self, engine: str, query: str, limit: int) -> list[Paper] | None:
        """The entry stored with this limit, else the one with the smallest larger limit (truncated)."""
        sql = "SELECT papers FROM searches WHERE engine = ? AND query = ? AND lim >= ? ORDER BY lim LIMIT 1"
        with self._lock:
            row = self._db.execute(sql, (engine, normalize_query(query), limit)).fetchone()
        if row is None:
            return None
        return _PAPERS.validate_json(row[0])[:limit]

    def put_sync(self, engine: str, query: str, limit: int, papers: list[Paper]) -> None:
        row = (
            engine,
            normalize_query(query),
            limit,
            len(papers),
            _PAPERS.dump_json(papers).decode(),
            time.time(),
        )
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO searches VALUES (?, ?, ?, ?, ?, ?)", row)

    async def get(self, engine: str, query: str, limit: int) -> list[Paper] | None:
        return await asyncio.to_thread(self.get_sync, engine, query, limit)

    async def put(self, engine: str, query: str, limit: int, papers: list[Paper]) -> None:
        await asyncio.to_thread(self.put_sync, engine, query, limit, papers)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM searches").fetchone()[0])

    def export_json(self, path: str | Path) -> int:
        """Write every entry to a JSON file (sorted, human-readable); returns the number of entries."""
        sql = "SELECT engine, query, lim, papers, created_at FROM searches ORDER BY engine, query, lim"
        with self._lock:
            rows = self._db.execute(sql).fetchall()
        entries = [
            CacheEntry(engine=e, query=q, limit=lim, created_at=t, papers=_PAPERS.validate_json(p))
            for e, q, lim, p, t in rows
        ]
        text = CacheFile(entries=entries).model_dump_json(indent=2)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n", encoding="utf-8")
        return len(entries)

    def import_json(self, path: str | Path, *, overwrite: bool = False) -> int:
        """Load a JSON export; existing entries are kept unless ``overwrite``. Returns entries read.

        Raises ValueError (with the file name) when the file is not a valid cache export.
        """
        try:
            data = CacheFile.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
        except (ValueError, OSError) as e:
            raise ValueError(f"cannot load literature cache {path}: {e}") from e
        verb = "REPLACE" if overwrite else "IGNORE"
        now = time.time()
        rows = [
            (
                entry.engine,
                normalize_query(entry.query),
                entry.limit,
                len(entry.papers),
                _PAPERS.dump_json(entry.papers).decode(),
                entry.created_at or now,
            )
            for entry in data.entries
        ]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(f"INSERT OR {verb} INTO searches VALUES (?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return len(rows)
