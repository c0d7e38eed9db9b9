"""The conversation of a run, as the golden-transcript test compares it: per idea, ``sender:kind`` of every bus
message in order; per role, the stage of every model call in order.

    python tests/e2e/golden.py runs/<run_id>  > tests/e2e/golden_demo.json   # after an intended change
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sciswarm.events import TRACE_KINDS

ABOUT = (
    "the demo's conversation: per idea, sender:kind of every bus message in order; per role, the stage of every "
    "model call in order. Regenerate only when a change is meant to change the conversation: "
    "python tests/e2e/golden.py RUN_DIR"
)


def conversation(run_dir: Path) -> dict[str, Any]:
    messages: dict[str, list[str]] = {}
    stages: dict[str, list[str]] = {}
    for line in (run_dir / "transcript.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["kind"] == "model_call":
            stages.setdefault(r["sender"], []).append(r["stage"])
        elif r["kind"] not in TRACE_KINDS:
            messages.setdefault(r["idea_id"], []).append(f"{r['sender']}:{r['kind']}")
    return {"_about": ABOUT, "messages": messages, "model_stages": stages}


if __name__ == "__main__":
    print(json.dumps(conversation(Path(sys.argv[1])), indent=1))
