"""Gradio's built scripts, styles and fonts are cached by the browser for a year.

Their names carry a hash of their content (`/assets/Index-DAx5Uzyn2.js`), so a new Gradio gives
new names and an old copy can never be served for a new file. Without this header a returning
browser asked again for each of the ~100 files a page loads, every time.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HASHED_ASSET = re.compile(r"^/assets/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$")
FOR_A_YEAR = "public, max-age=31536000, immutable"


class CacheHashedAssets:
    """ASGI middleware: a successful answer for a content-hashed asset may be kept a year."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not HASHED_ASSET.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return

        async def send_cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                MutableHeaders(scope=message)["cache-control"] = FOR_A_YEAR
            await send(message)

        await self.app(scope, receive, send_cached)
