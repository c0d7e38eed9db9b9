"""Token counts with the o200k tokenizer (tiktoken), offline: litellm ships tiktoken's cache files."""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any


@functools.cache
def _encoding() -> Any:
    spec = importlib.util.find_spec("litellm")
    if spec is not None and spec.origin:
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path(spec.origin).parent / "litellm_core_utils/tokenizers"))
    try:
        import tiktoken

        return tiktoken.get_encoding("o200k_base")
    except Exception:  # no tokenizer files: fall back to the ~4 characters per token rule
        return None


def count_tokens(text: str) -> int:
    """Tokens of `text` under o200k_base (about len/4 where the tokenizer cannot be loaded)."""
    enc = _encoding()
    if enc is None:
        return max(1, len(text) // 4) if text else 0
    return len(enc.encode(text, disallowed_special=()))
