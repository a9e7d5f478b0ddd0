"""What Gradio's own routes do not check: who owns a queue session, and who may upload.

Gradio hands queue results to whoever names the session hash (`/queue/data?session_hash=`,
`/heartbeat/{hash}`, `/call/{api}/{event_id}`, `/cancel`, `/stream/...`), logged in or not. This
ASGI middleware binds each session hash and event id to the login that used it first and refuses
it to any other (403; 401 without a live session). Event ids are bound when `/queue/join` or
`/call/{api}` hands them out.

Gradio's upload routes take files of any size from any logged-in user. Here a multipart post
needs a role that imports data (staff, admin) and a declared size within the limit; Gradio's
own `max_file_size` (set at launch) caps what is actually streamed.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from threading import Lock

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crpm.errors import PermissionDenied
from crpm.permissions import RULES
from crpm.ui.session import acting_user
from crpm.ui.webguard import answer

PREFIX = "/gradio_api/"
PATH_KEY = re.compile(r"^/gradio_api/(?:heartbeat|stream)/([^/]+)")
CALL_RESULT = re.compile(r"^/gradio_api/call/(?:v2/)?[^/]+/([^/]+)/?$")
HANDS_OUT_EVENTS = re.compile(r"^/gradio_api/(?:queue/join|call/(?:v2/)?[^/]+/?)$")
UPLOADERS = RULES["manage_records"]
MAX_BOUND = 100_000  # session hashes and event ids remembered (oldest forgotten first)


class Owners:
    """Which login first used each session hash or event id."""

    def __init__(self, limit: int = MAX_BOUND):
        self.limit = limit
        self.owners: OrderedDict[str, object] = OrderedDict()
        self.lock = Lock()

    def claim(self, key: str, owner) -> bool:
        """Bind `key` to `owner` unless it is bound already; True if `owner` holds it."""
        with self.lock:
            holder = self.owners.setdefault(key, owner)
            if len(self.owners) > self.limit:
                self.owners.popitem(last=False)
        return holder == owner


class GradioGuard:
    def __init__(self, app: ASGIApp, services, max_upload_bytes: int):
        self.app = app
        self.services = services
        self.max_upload_bytes = max_upload_bytes
        self.owners = Owners()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        if is_upload(scope, connection):
            await self._upload(scope, receive, send, connection)
            return
        body, receive = await read_json_body(scope, receive, connection)
        keys = session_keys(path, connection, body)
        if not keys:
            await self.app(scope, receive, send)
            return
        owner = await self._owner(connection)
        if owner is None:
            await answer(send, 401, "Not logged in.")
        elif not all(self.owners.claim(key, owner) for key in keys):
            await answer(send, 403, "This queue session belongs to another login.")
        elif scope["method"] == "POST" and HANDS_OUT_EVENTS.match(path):
            await self.app(scope, receive, self._binding_events(send, owner))
        else:
            await self.app(scope, receive, send)

    async def _upload(self, scope, receive, send, connection) -> None:
        actor = await run_in_threadpool(self._actor, connection)
        declared = connection.headers.get("content-length", "")
        if actor is None:
            await answer(send, 401, "Not logged in.")
        elif actor.role not in UPLOADERS:
            await answer(send, 403, "Your login may not upload files.")
        elif declared.isdigit() and int(declared) > self.max_upload_bytes:
            limit = self.max_upload_bytes // (1024 * 1024)
            await answer(send, 413, f"The file is too large: at most {limit} MB.")
        else:
            await self.app(scope, receive, send)

    def _actor(self, connection):
        try:
            return acting_user(self.services, connection)
        except PermissionDenied:
            return None

    async def _owner(self, connection):
        actor = await run_in_threadpool(self._actor, connection)
        return None if actor is None else (actor.user_id or actor.username)

    def _binding_events(self, send: Send, owner) -> Send:
        """A `send` that binds the event id in the answer (`{"event_id": ...}`) to `owner`."""

        async def send_bound(message: Message) -> None:
            if message["type"] == "http.response.body":
                event_id = event_id_in(message.get("body", b""))
                if event_id:
                    self.owners.claim(event_id, owner)
            await send(message)

        return send_bound


def is_upload(scope: Scope, connection: HTTPConnection) -> bool:
    content_type = connection.headers.get("content-type", "")
    return scope["method"] == "POST" and content_type.startswith("multipart/form-data")


def session_keys(path: str, connection: HTTPConnection, body: dict) -> list[str]:
    """The session hashes and event ids a Gradio request names."""
    keys = [connection.query_params.get("session_hash"), body.get("session_hash")]
    for pattern in (PATH_KEY, CALL_RESULT):
        found = pattern.match(path)
        keys.append(found.group(1) if found else None)
    return [str(key) for key in keys if key]


async def read_json_body(scope: Scope, receive: Receive, connection: HTTPConnection):
    """(the JSON object a POST carries or {}, a `receive` that replays the body to the app)."""
    content_type = connection.headers.get("content-type", "")
    if scope["method"] != "POST" or not content_type.startswith("application/json"):
        return {}, receive
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return {}, receive
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    raw = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": raw, "more_body": False}

    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {}
    return (body if isinstance(body, dict) else {}), replay


def event_id_in(body: bytes) -> str | None:
    try:
        answer_json = json.loads(body)
    except ValueError:
        return None
    event_id = answer_json.get("event_id") if isinstance(answer_json, dict) else None
    return str(event_id) if event_id else None
