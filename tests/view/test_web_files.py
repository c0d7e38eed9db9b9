"""Files of a run over HTTP: types, range requests (the PDF viewer), confinement to the run folder, the Host
header check, and the page's own assets served from the package (nothing from a CDN)."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from web_support import get, make_run, png

from sciswarm.view.web import ViewerServer, safe_path


def test_serves_artifacts_with_types(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "r1")
    base = server.url + "api/runs/r1/files/"
    code, body, headers = get(base + "ideas/label_smoothing/workspace/train_loss.png")
    assert code == 200 and body == png() and headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in headers["Content-Security-Policy"]
    code, body, headers = get(base + "ideas/label_smoothing/paper/paper_rev0.pdf")
    assert code == 200 and body.startswith(b"%PDF") and headers["Content-Type"] == "application/pdf"
    code, body, _ = get(base + "ideas/label_smoothing/reviews.json")
    assert code == 200 and json.loads(body)["meta_review"]["Decision"] == "Accept"
    code, body, _ = get(base + "ideas%2Flabel_smoothing%2Fworkspace%2Ftrain_loss.png")  # encoded slashes are fine
    assert code == 200 and body == png()
    (runs / "r1/page.html").write_text("<script>alert(1)</script>")  # written by LLM code: never rendered
    code, _, headers = get(base + "page.html")
    assert code == 200 and headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment")
    assert get(base + "ideas/missing.png")[0] == 404
    assert get(base + "ideas")[0] == 404  # a folder is not a file


def test_file_traversal_is_rejected(server: ViewerServer, runs: Path, tmp_path: Path) -> None:
    make_run(runs, "a")
    make_run(runs, "b")
    (tmp_path / "secret.txt").write_text("top secret")
    (runs / "a/escape.txt").symlink_to(tmp_path / "secret.txt")
    (runs / "a/other").symlink_to(runs / "b")
    (runs / "a/inside.png").symlink_to(runs / "a/ideas/label_smoothing/workspace/train_loss.png")
    base = server.url + "api/runs/a/files/"
    attempts = [
        "../b/run.json",
        "..%2fb%2frun.json",
        "%2e%2e/b/run.json",
        "%2E%2E%2Fb%2Frun.json",
        "ideas/../../b/run.json",
        "ideas/%2e%2e/%2e%2e/b/run.json",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "..%5c..%5cb%5crun.json",
        "escape.txt",
        "other/run.json",
        "ideas%00.png",
        "../../secret.txt",
    ]
    for attempt in attempts:
        code, body, _ = get(base + attempt)
        assert code == 403, (attempt, code)
        assert b"top secret" not in body and b'"name": "demo b"' not in body
    assert get(server.url + "api/runs/%2e%2e/files/runs/a/run.json")[0] == 404
    assert get(server.url + "api/runs/a/files/inside.png")[1] == png()  # a symlink that stays inside is fine
    assert get(base + "run.json")[0] == 200

    assert safe_path(runs / "a", "ideas/x.png") == (runs / "a/ideas/x.png").resolve()
    for rel in ["", "/abs", "..", "a/../../b", "a\\..\\b", "escape.txt", "./../b"]:
        assert safe_path(runs / "a", rel) is None, rel


def test_foreign_host_header_is_refused(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "r1")
    assert get(server.url + "api/runs", {"Host": "evil.example:8765"})[0] == 403
    assert get(server.url + "api/runs", {"Host": f"localhost:{server.port}"})[0] == 200


def test_range_requests_for_pdfs_and_images(server: ViewerServer, runs: Path) -> None:
    run_dir = make_run(runs, "r1")
    pdf = run_dir / "ideas/label_smoothing/paper/paper_rev0.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    url = server.url + "api/runs/r1/files/ideas/label_smoothing/paper/paper_rev0.pdf"
    code, body, headers = get(url)
    assert code == 200 and headers["Accept-Ranges"] == "bytes" and body == pdf.read_bytes()
    assert headers["Content-Security-Policy"] == "frame-ancestors 'self'"  # only the viewer may frame it
    code, body, headers = get(url, {"Range": "bytes=0-7"})
    assert code == 206 and body == b"%PDF-1.4" and headers["Content-Range"] == f"bytes 0-7/{pdf.stat().st_size}"
    code, body, _ = get(url, {"Range": "bytes=-6"})
    assert code == 206 and body == b"%%EOF\n"
    code, _, headers = get(url, {"Range": f"bytes={pdf.stat().st_size + 10}-"})
    assert code == 416
    image = server.url + "api/runs/r1/files/ideas/label_smoothing/workspace/train_loss.png"
    code, body, headers = get(image, {"Range": "bytes=1-3"})
    assert code == 206 and body == b"PNG" and "sandbox" in headers["Content-Security-Policy"]


def test_the_page_and_its_assets_come_from_the_package(server: ViewerServer) -> None:
    code, page, headers = get(server.url)
    assert code == 200 and headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self';")
    assets = re.findall(rb'(?:src|href)="(/static/[^"]+)"', page)
    assert {b"/static/js/app.js", b"/static/viewer.css"} <= set(assets)
    static = resources.files("sciswarm.view").joinpath("static")
    modules = [p.name for p in static.joinpath("js").iterdir() if p.name.endswith(".js")]
    for name in modules:  # every module the page imports is served, none reaches beyond the origin
        code, body, headers = get(server.url + f"static/js/{name}")
        assert code == 200 and headers["Content-Type"].startswith("text/javascript"), name
        assert not re.search(rb"https?://", body), name
        for imported in re.findall(rb'from "\./([\w.]+)"', body):
            assert imported.decode() in modules, (name, imported)
    for asset in assets:
        code, body, _ = get(server.url + asset.decode().lstrip("/"))
        assert code == 200 and not re.search(rb"https?://", body), asset
    assert get(server.url + "static/../app.py")[0] == 404
    assert get(server.url + "static/%2e%2e/web/app.py")[0] == 404


def test_idea_and_node_ids_are_single_folder_names(server: ViewerServer, runs: Path, tmp_path: Path) -> None:
    run_dir = make_run(runs, "r1")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret/tree.json").write_text(json.dumps({"nodes": [{"id": "n", "log": "top secret"}]}))
    (run_dir / "ideas/label_smoothing/tree.json").write_text(
        json.dumps([{"id": "n1", "log_path": "../../../../secret/tree.json"}])
    )
    for path in [
        "ideas/..",
        "ideas/%2e%2e",
        "ideas/..%2f..%2fsecret",
        "ideas/.hidden",
        "ideas/..%2F..%2F..%2Fsecret/tree/n",
    ]:
        code, body, _ = get(server.url + "api/runs/r1/" + path)
        assert code == 404 and b"top secret" not in body, path
    code, body, _ = get(server.url + "api/runs/r1/ideas/label_smoothing/tree/n1")
    assert code == 200 and b"top secret" not in body  # a log path leading out of the idea folder is text, not read
