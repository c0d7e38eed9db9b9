"""An OpenAI-compatible chat server on 127.0.0.1 serving scripted replies, for real-HTTP tests.

Each queued item is one HTTP response:
  {"content": "text"}                     a normal completion
  {"status": 429}                         an error status (body in OpenAI's error shape)
  {"headers": {"Retry-After": "1"}, ...}  extra response headers
  {"stream": ["chunk", ...]}              server-sent events (used when the request asks stream)
  {"tool_calls": [{"name": n, "arguments": "{...}"}]}
  {"delay": seconds, ...}                 sleep first (for timeouts)
  {"match": "text", ...}                  only for a request whose messages contain "text"
  {"format": "json_schema", ...}          only for a request whose response_format type is this ("none": no format)
When the queue is empty the server answers 500, so a test never hangs on a missing reply.
``arrived[i]`` is when ``requests[i]`` came (time.monotonic), ``answered`` each response's (time, status) as it
went out, ``max_in_flight`` the most requests the server was handling at once.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    def __init__(self) -> None:
        self.queue: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.arrived: list[float] = []
        self.answered: list[tuple[float, int]] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, *items: dict[str, Any]) -> FakeOpenAI:
        with self._lock:
            self.queue.extend(items)
        return self

    def _next(self, body: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(body.get("messages", []))
        fmt = (body.get("response_format") or {}).get("type", "none")
        with self._lock:
            for i, item in enumerate(self.queue):
                if ("match" not in item or item["match"] in text) and item.get("format", fmt) == fmt:
                    return self.queue.pop(i)
        return {"status": 500, "message": "fake server: no scripted reply left"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(body)
                    fake.arrived.append(time.monotonic())
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    self._answer(body, fake._next(body))
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            def _answer(self, body: dict[str, Any], item: dict[str, Any]) -> None:
                self._extra_headers = dict(item.get("headers") or {})
                if item.get("delay"):
                    time.sleep(float(item["delay"]))
                status = int(item.get("status", 200))
                if status != 200:
                    self._json(
                        status,
                        {
                            "error": {
                                "message": item.get("message", f"status {status}"),
                                "type": "fake_error",
                                "code": str(status),
                            }
                        },
                    )
                    return
                if body.get("stream"):
                    self._stream(body, item)
                    return
                message: dict[str, Any] = {"role": "assistant", "content": item.get("content")}
                finish = "stop"
                if item.get("tool_calls"):
                    message["tool_calls"] = [
                        {
                            "id": f"call_{i}",
                            "type": "function",
                            "function": {"name": c["name"], "arguments": c["arguments"]},
                        }
                        for i, c in enumerate(item["tool_calls"])
                    ]
                    finish = "tool_calls"
                text = item.get("content") or ""
                self._json(
                    200,
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                        "usage": {
                            "prompt_tokens": 11 + len(json.dumps(body.get("messages", []))) // 4,
                            "completion_tokens": 1 + len(text) // 4,
                            "total_tokens": 0,
                        },
                    },
                )

            def _stream(self, body: dict[str, Any], item: dict[str, Any]) -> None:
                self._start(200, "text/event-stream")
                chunks = item.get("stream") or [item.get("content", "")]
                for i, text in enumerate(chunks):
                    delta = {"role": "assistant", "content": text} if i == 0 else {"content": text}
                    self._event(
                        {
                            "id": "c",
                            "object": "chat.completion.chunk",
                            "created": 0,
                            "model": body.get("model"),
                            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                        }
                    )
                self._event(
                    {
                        "id": "c",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    }
                )
                self._event(
                    {
                        "id": "c",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [],
                        "usage": {
                            "prompt_tokens": 7,
                            "completion_tokens": len(chunks),
                            "total_tokens": 7 + len(chunks),
                        },
                    }
                )
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, data: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()

            def _json(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self._start(status, "application/json", len(raw))
                self.wfile.write(raw)

            def _start(self, status: int, content_type: str, length: int | None = None) -> None:
                with fake._lock:
                    fake.answered.append((time.monotonic(), status))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if length is not None:
                    self.send_header("Content-Length", str(length))
                for name, value in self._extra_headers.items():
                    self.send_header(name, str(value))
                self.end_headers()

        return Handler
