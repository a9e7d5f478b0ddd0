"""The fixes to Gradio's browser code apply to the pinned Gradio and are served in its place."""

from __future__ import annotations

import logging

import pytest
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient

from crpm.ui.assetpatch import ASSETS, FIXES, Fix, ServePatchedAssets, patched_assets


@pytest.mark.parametrize("fix", FIXES, ids=lambda fix: fix.why)
def test_each_fix_finds_its_text_once_in_the_pinned_gradio(fix):
    original = (ASSETS / fix.file).read_text("utf-8")
    assert original.count(fix.old) == 1, "Gradio changed: redo or drop this fix"
    patched = patched_assets()[fix.file].decode("utf-8")
    assert fix.new in patched and fix.old not in patched
    assert len(patched) - len(original) == sum(
        len(each.new) - len(each.old) for each in FIXES if each.file == fix.file
    )


def test_a_fix_whose_text_is_gone_is_left_out_with_a_warning(tmp_path, caplog):
    (tmp_path / "core-X.js").write_text("function a(){return 1}function b(){return 2}")
    fixes = (
        Fix("core-X.js", "a faster a", "function a(){return 1}", "function a(){return 1.0}"),
        Fix("core-X.js", "a faster c", "function c(){}", "function c(){ }"),
        Fix("Gone-X.js", "a file Gradio no longer has", "x", "y"),
    )
    with caplog.at_level(logging.WARNING):
        served = patched_assets(fixes, tmp_path)
    assert served == {"core-X.js": b"function a(){return 1.0}function b(){return 2}"}
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "a faster c" in warned and "a file Gradio no longer has" in warned


async def gradio_itself(scope, receive, send):
    await PlainTextResponse(f"Gradio's {scope['path']}")(scope, receive, send)


def test_a_patched_file_is_served_and_revalidated_by_its_etag():
    app = ServePatchedAssets(gradio_itself, {"core-X1234567.js": b"fixed();"})
    http = TestClient(app)
    first = http.get("/assets/core-X1234567.js")
    again = http.get("/assets/core-X1234567.js", headers={"if-none-match": first.headers["etag"]})
    other = http.get("/assets/Index-X1234567.js")
    posted = http.post("/assets/core-X1234567.js")
    assert first.status_code == 200 and first.content == b"fixed();"
    assert first.headers["content-type"].startswith("text/javascript")
    assert first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304 and again.content == b""
    big = ServePatchedAssets(gradio_itself, {"core-X1234567.js": b"fixed();" * 1000})
    squeezed = TestClient(big).get("/assets/core-X1234567.js", headers={"accept-encoding": "br"})
    assert squeezed.headers["content-encoding"] == "br"
    assert squeezed.content == b"fixed();" * 1000  # the client undoes the compression
    assert other.text == "Gradio's /assets/Index-X1234567.js"
    assert posted.text == "Gradio's /assets/core-X1234567.js"
