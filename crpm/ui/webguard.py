"""The outermost layer of the web app: same-origin only, and the security headers.

Gradio's CORS middleware answers any localhost origin (any origin at all on another host name)
with Access-Control-Allow-Origin and Allow-Credentials, so a page on another local port could
read the admin's backup with the admin's cookie. CRPM serves only its own pages: a request that
names a foreign Origin is refused before it reaches a route, and no Access-Control-* header
leaves the app. Every response also carries a Content-Security-Policy (no images, frames or
connections to other sites; no framing but by this site), nosniff and a same-origin referrer.
"""

from __future__ import annotations

import json
from urllib.parse import urlparse

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What Gradio's page needs: its own scripts (inline config, and Vega's expression compiler uses
# eval), inline styles, data:/blob: images and workers, and connections back to this site only.
DASHBOARD_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval';"
    " style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:;"
    " media-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self';"
    " object-src 'none'; base-uri 'self'; form-action 'self'"
)
FOREIGN_ORIGIN = "This request came from another site; open CRPM directly."


def same_origin(connection: HTTPConnection) -> bool:
    """A browser names the page a request came from; it must be this site (honouring a proxy's
    X-Forwarded-Host). API clients send no Origin."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    headers = connection.headers
    host = headers.get("x-forwarded-host") or headers.get("host") or ""
    return urlparse(origin).netloc.lower() == host.split(",")[0].strip().lower()


class WebGuard:
    """ASGI middleware: refuse foreign origins, drop CORS grants, add the security headers."""

    def __init__(self, app: ASGIApp, frame_ancestors: str = "'self'"):
        self.app = app
        self.headers = {
            "x-content-type-options": "nosniff",
            "referrer-policy": "same-origin",
        }
        self.frame_ancestors = f"frame-ancestors {frame_ancestors}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and not same_origin(HTTPConnection(scope)):
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._secure(MutableHeaders(scope=message))
            await send(message)

        if not same_origin(HTTPConnection(scope)):
            await answer(send_guarded, 403, FOREIGN_ORIGIN)
            return
        await self.app(scope, receive, send_guarded)

    def _secure(self, headers: MutableHeaders) -> None:
        for name in {name for name in headers if name.lower().startswith("access-control-")}:
            del headers[name]
        for name, value in self.headers.items():
            headers[name] = value
        policy = headers.get("content-security-policy") or DASHBOARD_POLICY
        if "frame-ancestors" not in policy:
            policy = f"{policy.rstrip('; ')}; {self.frame_ancestors}"
        headers["content-security-policy"] = policy


async def answer(send: Send, status: int, detail: str) -> None:
    """A short JSON refusal, sent before the request reaches any route."""
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
