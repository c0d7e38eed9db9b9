"""A prompt against the model's context window: earlier turns trimmed, or a clear refusal when it cannot fit.

Tokens are counted with o200k (``llm/tokens.py``), which is not every model's tokenizer: small open models'
vocabularies spend more tokens on the same text, so the count is scaled by ``TOKENIZER_MARGIN``. The reply's room
is the call's ``max_tokens`` (else ``DEFAULT_REPLY_ROOM``).
"""

from __future__ import annotations

from sciswarm.errors import ExpectedFailure
from sciswarm.llm.tokens import count_tokens
from sciswarm.llm.types import ChatMessage

TOKENIZER_MARGIN = 1.2
DEFAULT_REPLY_ROOM = 1024
PER_MESSAGE_TOKENS = 6  # the chat template's role markers


class ContextTooLong(ExpectedFailure, RuntimeError):
    """The prompt cannot fit the model's context window, even with earlier turns left out."""


def prompt_tokens(messages: list[ChatMessage]) -> int:
    """The prompt's estimated size in the model's tokens (o200k count scaled by the tokenizer margin)."""
    raw = sum(count_tokens(m.content) + PER_MESSAGE_TOKENS for m in messages)
    return int(raw * TOKENIZER_MARGIN)


def _at_most_tokens(messages: list[ChatMessage]) -> int:
    """A bound no tokenizer exceeds (a token is at least one byte), without tokenizing: most prompts of a
    long-context model are far below their window and need no count."""
    raw = sum(len(m.content.encode()) + PER_MESSAGE_TOKENS for m in messages)
    return int(raw * TOKENIZER_MARGIN)


def fit_to_window(
    messages: list[ChatMessage], window: int, max_tokens: int | None, model: str
) -> tuple[list[ChatMessage], int]:
    """``messages`` fitted to ``window`` tokens with room for the reply, and how many turns were left out.

    Kept always: the system prompt, the first user message (the task) and the last message (what is asked now);
    the turns between them go oldest first. Raises ContextTooLong when what must be kept does not fit."""
    room = window - (max_tokens or min(DEFAULT_REPLY_ROOM, window // 4))
    if _at_most_tokens(messages) <= room or prompt_tokens(messages) <= room:
        return messages, 0
    head = [i for i, m in enumerate(messages) if m.role == "system"][:1]
    head += [i for i, m in enumerate(messages) if m.role == "user"][:1]
    keep_first = max(head) + 1 if head else 0
    fitted = list(messages)
    dropped = 0
    # whole exchanges go (a draft with the request that followed it), so the kept history still alternates
    while len(fitted) > keep_first + 1 and (
        prompt_tokens(fitted) > room or (dropped and fitted[keep_first].role != "assistant")
    ):
        del fitted[keep_first]
        dropped += 1
    need = prompt_tokens(fitted)
    if need > room:
        raise ContextTooLong(
            f"{model}: the prompt needs about {need} tokens but the context window is {window} "
            f"({window - room} kept for the reply); use a model with a longer context, raise the server's "
            f"context size and the model's context_window, or shorten the template's inputs"
        )
    return fitted, dropped
