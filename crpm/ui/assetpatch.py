"""Three fixes to the browser code of the pinned Gradio (6.31.0), served in place of its files.

Gradio's page script looks things up by scanning. For each of the page's ~700 components it
scans all ~320 events for the ones aimed at it (`find_attached_events`); at start-up it reads
the state of every event's target, walking the whole component tree for each, even for the
events that take no arguments and so never use it. The work grows with components × events:
on the admin's page it was most of the browser's CPU from Log in to the Home figures, and
every tab's first view paid for it again (bench/NOTES.md, "Login to Home in the browser").

Each fix swaps one function for one that gives the same answer from an index, or skips work
whose result is not used. A fix whose text is not found (another Gradio) is left out with a
warning, and Gradio's own file is served; tests/unit/test_assetpatch.py fails first.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import gradio
from gradio.brotli_middleware import BrotliMiddleware
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

LOG = logging.getLogger(__name__)
ASSETS = Path(gradio.__file__).parent / "templates" / "frontend" / "assets"


@dataclass(frozen=True)
class Fix:
    file: str
    why: str
    old: str
    new: str


FIXES = (
    Fix(
        "core-Bdx9080F.js",
        "the events aimed at a component, from an index built once per list of events",
        "find_attached_events(e,t){let n=t.filter(t=>t.targets.find(([t])=>t===e.id))"
        ".map(t=>{let n=t.targets.find(([t])=>t===e.id);return n?n[1]:null}).filter(Boolean);"
        "return e.props.shared_props.attached_events=n,e}",
        "find_attached_events(e,t){let x=this.crpm_events_by_target;"
        "if(!x||x.of!==t||x.length!==t.length){x={of:t,length:t.length,by:new Map};"
        "for(let d of t){let seen=new Set;for(let[i,name]of d.targets){if(seen.has(i))continue;"
        "seen.add(i);let a=x.by.get(i);a||x.by.set(i,a=[]);a.push(name)}}"
        "this.crpm_events_by_target=x}"
        "let n=(x.by.get(e.id)||[]).filter(Boolean);"
        "return e.props.shared_props.attached_events=n,e}",
    ),
    Fix(
        "core-Bdx9080F.js",
        "a mounted component's state without first walking the tree for it",
        "get_state(e){let t=this.#s.get(e),n=Z(this.root,e);return!t&&!n?null:t?await t()"
        ":n?Promise.resolve({value:n.props.props.value}):null}",
        "get_state(e){let t=this.#s.get(e);if(t)return await t();let n=Z(this.root,e);"
        "return n?{value:n.props.props.value}:null}",
    ),
    Fix(
        "Blocks-D1GWYZdr.js",
        "an event without arguments does not read its target's state",
        "async set_event_args(e,t){let n={},r=await this.get_state_cb?.(e);",
        "async set_event_args(e,t){if(Object.keys(t).length===0)return()=>{};"
        "let n={},r=await this.get_state_cb?.(e);",
    ),
)


def patched_assets(fixes=FIXES, folder: Path = ASSETS) -> dict[str, bytes]:
    """File name -> its text with every fix that applies; a fix that does not is logged."""
    texts: dict[str, str] = {}
    for fix in fixes:
        path = folder / fix.file
        text = texts.get(fix.file) or (path.read_text("utf-8") if path.is_file() else "")
        if text.count(fix.old) != 1:
            LOG.warning("Gradio's %s has changed: left out the fix for %s", fix.file, fix.why)
            continue
        texts[fix.file] = text.replace(fix.old, fix.new)
    return {name: text.encode("utf-8") for name, text in texts.items()}


class ServePatchedAssets:
    """ASGI middleware: answers for Gradio's patched files itself, compressed as Gradio
    compresses its own. They keep their hashed names, so they are revalidated (ETag) rather
    than cached for a year, or a browser would keep an older version of a fix. (A browser that
    cached Gradio's original before the fixes were served keeps it: correct, only slower.)"""

    def __init__(self, app: ASGIApp, assets: dict[str, bytes] | None = None):
        self.app = app
        files = patched_assets() if assets is None else assets
        self.files = {
            f"/assets/{name}": (body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
            for name, body in files.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        served = self.files.get(scope.get("path", "")) if scope["type"] == "http" else None
        if served is None or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        body, etag = served
        headers = {"etag": etag, "cache-control": "no-cache"}
        if Headers(scope=scope).get("if-none-match") == etag:
            response = Response(status_code=304, headers=headers)
        else:
            response = Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
        await BrotliMiddleware(response)(scope, receive, send)
