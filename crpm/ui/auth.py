"""Login, registration, invitation and logout pages served beside the dashboard, and the gate in
front of it.

Why our own pages and not Gradio's `auth=`: Gradio keeps its login tokens in memory, maps them
to a username and cannot revoke them, so an erased person's old cookie would resolve to whoever
registers the same e-mail later. Here the cookie holds a server-side session token from
`accounts.login`; Gradio's `auth_dependency` asks the store about it on every request (page,
config, queue, API call) and every handler resolves the actor from it again
(crpm/ui/session.py).

The cookie is HttpOnly and SameSite=Lax (Secure over HTTPS), so a cross-site form cannot carry
it; the form posts also refuse a foreign Origin, so another site cannot log a visitor into an
account of its choosing. `POST /login` without the page's `form` field answers JSON, which is
what `gradio_client.Client(url, auth=(username, password))` expects.
"""

from __future__ import annotations

import logging
from html import escape

import gradio as gr
from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from gradio.routes import App
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from crpm.config import Settings
from crpm.errors import CRPMError, PermissionDenied
from crpm.services.accounts import SESSION_HOURS
from crpm.services.invitations import InvalidInvitation
from crpm.ui.assetcache import CacheHashedAssets
from crpm.ui.assetpatch import ServePatchedAssets
from crpm.ui.gradioguard import GradioGuard
from crpm.ui.session import SESSION_COOKIE, session_token
from crpm.ui.webguard import WebGuard, same_origin

log = logging.getLogger("crpm.ui.auth")

LOGIN_FAILED = (
    "That login name and password do not match an active account. After 5 failed attempts an"
    " account is locked for 15 minutes against the address they came from, and after 20 from"
    " one address that address waits 15 minutes."
)
NOTICES = {
    "out": "You are logged out.",
    "changed": "Your password was changed; log in with the new one.",
    "expired": "Your session has ended; please log in again.",
    # One answer to every accepted registration form: a new account, or an e-mail already known
    # (a customer or a login), so the page does not tell which addresses are registered.
    "registered": "Thank you. If this e-mail address was not registered yet, your account is"
    " ready: log in with it. If you already have a login, log in with your password. If the shop"
    " has your e-mail but you never had a login, ask the shop for an invitation.",
    "invited": "Your password is set. Log in with your e-mail address and the new password.",
}
INVITATION_UNUSABLE = "This invitation link cannot be used"
REGISTER_FIELDS = ("name", "email", "phone")


# A form POST, so that a link on another site cannot log anyone out.
LOGOUT_JS = """() => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = "logout";
  document.body.appendChild(form);
  form.submit();
}"""


def logout_button() -> gr.Button:
    button = gr.Button("Log out", size="sm", scale=0, min_width=100, elem_id="crpm-logout")
    button.click(None, js=LOGOUT_JS)
    return button


def current_username(services):
    """Gradio's `auth_dependency`: the username of a live session, or None (refused with 401).
    Gradio calls it on the event loop for every request, so the store lookup runs in a thread."""

    def lookup(token: str) -> str | None:
        try:
            return services.accounts.actor_for_session(token).username
        except PermissionDenied:
            return None

    async def username(request: Request) -> str | None:
        token = session_token(request)
        return None if token is None else await run_in_threadpool(lookup, token)

    return username


class GuardedApp(App):
    """Gradio's web app wrapped in CRPM's guards (outermost, around Gradio's own middleware):
    same-origin only and security headers (crpm/ui/webguard.py), queue sessions bound to their
    login and uploads for importing roles only (crpm/ui/gradioguard.py); Gradio's hashed
    assets cached by the browser (crpm/ui/assetcache.py), and two of them served with
    fixes (crpm/ui/assetpatch.py)."""

    def __init__(self, services, settings: Settings, **kwargs):
        # No FastAPI schema at /openapi.json: Gradio's /gradio_api/openapi.json needs a login.
        super().__init__(openapi_url=None, **kwargs)
        self.crpm_guards = (services, settings)

    def build_middleware_stack(self):
        services, settings = self.crpm_guards
        inner = GradioGuard(super().build_middleware_stack(), services, settings.max_upload_bytes)
        return WebGuard(ServePatchedAssets(CacheHashedAssets(inner)), settings.frame_ancestors)


def server_app(services, settings: Settings) -> App:
    """The web app Gradio will serve the dashboard on, with the login routes already in place
    (routes added first win, so ours shadow Gradio's own /login and /logout)."""
    app = GuardedApp(services, settings, auth_dependency=current_username(services))
    pages = AuthPages(services, settings.trusted_proxy)
    app.add_api_route("/login", pages.login_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/login", pages.login, methods=["POST"], include_in_schema=False)
    app.add_api_route("/login/", pages.login, methods=["POST"], include_in_schema=False)
    app.add_api_route("/register", pages.register_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/register", pages.register, methods=["POST"], include_in_schema=False)
    app.add_api_route("/invite", pages.invite_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/invite", pages.accept_invitation, methods=["POST"], include_in_schema=False)
    app.add_api_route("/logout", pages.logout_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/logout", pages.logout, methods=["POST"], include_in_schema=False)
    app.add_exception_handler(HTTPException, send_anonymous_to_login)
    return app


async def send_anonymous_to_login(request: Request, exc: HTTPException) -> Response:
    """The dashboard page itself sends a visitor without a session to the login page; every
    other refused route keeps its JSON 401 (what API clients expect)."""
    if exc.status_code == 401 and request.method == "GET" and request.url.path in ("", "/"):
        notice = "?notice=expired" if session_token(request) else ""
        return RedirectResponse(f"login{notice}", status_code=303)
    return await http_exception_handler(request, exc)


def client_address(request: Request, trusted_proxy: bool) -> str | None:
    """The address login and registration attempts are counted against: the connection's, or
    behind a trusted proxy (CRPM_TRUSTED_PROXY=1: a Hugging Face Space, nginx) the address it
    appended last to X-Forwarded-For. Untrusted, the header is ignored: anyone could name one."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded and trusted_proxy:
        return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else None


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    return (forwarded or request.url.scheme) == "https"


class AuthPages:
    """The pages. Hashing a password (scrypt) and the store's write lock block, so they run in
    the thread pool: plain `def` routes (FastAPI runs those there), and `run_in_threadpool` in
    the routes that must await the posted form first."""

    def __init__(self, services, trusted_proxy: bool = False):
        self.accounts = services.accounts
        self.invitations = services.invitations
        self.trusted_proxy = trusted_proxy

    # --- logging in -------------------------------------------------------------------

    def login_page(self, request: Request) -> Response:
        if self._live_session(request):
            return RedirectResponse("./", status_code=303)
        notice = NOTICES.get(request.query_params.get("notice", ""), "")
        return page("Log in", login_form(notice=notice))

    async def login(self, request: Request) -> Response:
        form = await request.form()
        from_page = "form" in form
        if not same_origin(request):
            return refused_origin(from_page)
        username = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        address = client_address(request, self.trusted_proxy)
        token = await run_in_threadpool(self.accounts.login, username, password, address)
        if token is None:
            if from_page:
                return page("Log in", login_form(username, error=LOGIN_FAILED), 401)
            return JSONResponse({"detail": "Incorrect credentials."}, status_code=401)
        response = (
            RedirectResponse("./", status_code=303)
            if from_page
            else JSONResponse({"success": True})
        )
        set_session_cookie(response, token, request)
        return response

    def _live_session(self, request: Request) -> bool:
        token = session_token(request)
        try:
            return token is not None and self.accounts.actor_for_session(token) is not None
        except PermissionDenied:
            return False

    # --- registering ------------------------------------------------------------------

    def register_page(self, request: Request) -> Response:
        return page("Create an account", register_form({}))

    async def register(self, request: Request) -> Response:
        form = await request.form()
        if not same_origin(request):
            return refused_origin(True)
        typed = {name: str(form.get(name) or "").strip() for name in REGISTER_FIELDS}
        password = str(form.get("password") or "")
        if password != str(form.get("confirm") or ""):
            return page("Create an account", register_form(typed, "The passwords differ."), 400)
        try:
            await run_in_threadpool(
                self.accounts.register_customer,
                typed["name"],
                typed["email"],
                password,
                typed["phone"],
                client_address(request, self.trusted_proxy),
            )
        except CRPMError as exc:
            return page("Create an account", register_form(typed, exc.message), 400)
        return RedirectResponse("login?notice=registered", status_code=303)

    # --- accepting an invitation (crpm/services/invitations.py) -----------------------

    def invite_page(self, request: Request) -> Response:
        """`/invite?token=...`: the link staff passed on; asks for the new password."""
        token = request.query_params.get("token", "")
        address = client_address(request, self.trusted_proxy)
        try:
            invitation = self.invitations.open_invitation(token, address)
        except CRPMError as exc:
            return unusable_invitation(exc)
        return page("Set your password", invite_form(invitation, token))

    async def accept_invitation(self, request: Request) -> Response:
        form = await request.form()
        if not same_origin(request):
            return refused_origin(True)
        token = str(form.get("token") or "")
        password = str(form.get("password") or "")
        address = client_address(request, self.trusted_proxy)
        try:
            invitation = await run_in_threadpool(self.invitations.open_invitation, token, address)
            if password != str(form.get("confirm") or ""):
                error = "The passwords differ."
                return page("Set your password", invite_form(invitation, token, error), 400)
            await run_in_threadpool(self.invitations.redeem, token, password, address)
        except (InvalidInvitation, PermissionDenied) as exc:
            return unusable_invitation(exc)
        except CRPMError as exc:
            return page("Set your password", invite_form(invitation, token, exc.message), 400)
        return RedirectResponse("login?notice=invited", status_code=303)

    # --- logging out ------------------------------------------------------------------

    def logout_page(self, request: Request) -> Response:
        return page("Log out", logout_form())

    def logout(self, request: Request) -> Response:
        if not same_origin(request):
            return refused_origin(True)
        token = session_token(request)
        if token is not None:
            self.accounts.logout(token)
        response = RedirectResponse("login?notice=out", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return response


def set_session_cookie(response: Response, token: str, request: Request) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def refused_origin(from_page: bool) -> Response:
    log.warning("refused a login form posted from another site")
    message = "This form was sent from another site; open CRPM directly and try again."
    if from_page:
        return page("Not allowed", f"<p class='error'>{escape(message)}</p>", 403)
    return JSONResponse({"detail": message}, status_code=403)


# --- the pages: plain HTML, every value escaped, no password ever written back --------------


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = PAGE.format(title=escape(title), body=body)
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline';"
            " script-src 'unsafe-inline'; form-action 'self'",
        },
    )


def field(label: str, name: str, value: str = "", kind: str = "text", **attributes) -> str:
    extra = " ".join(f'{key}="{escape(str(val))}"' for key, val in attributes.items())
    shown = "" if kind == "password" else escape(value)
    return (
        f'<label for="{name}">{escape(label)}</label>'
        f'<input id="{name}" name="{name}" type="{kind}" value="{shown}" {extra}>'
    )


def message(error: str = "", notice: str = "") -> str:
    if error:
        return f'<p class="error" role="alert">{escape(error)}</p>'
    return f'<p class="notice" role="status">{escape(notice)}</p>' if notice else ""


def login_form(username: str = "", error: str = "", notice: str = "") -> str:
    return f"""
<h1>Log in to CRPM</h1>
{message(error, notice)}
<form method="post" action="login">
  <input type="hidden" name="form" value="1">
  {field("Login name or e-mail", "username", username, autocomplete="username", required="")}
  {field("Password", "password", kind="password", autocomplete="current-password", required="")}
  <button type="submit">Log in</button>
</form>
<p class="alt">New customer? <a href="register">Create an account</a></p>"""


def new_password_fields() -> str:
    """The new password twice, as registration and an invitation ask for it."""
    return field(
        "Password (at least 10 characters)",
        "password",
        kind="password",
        autocomplete="new-password",
        minlength="10",
        required="",
    ) + field(
        "Repeat the password", "confirm", kind="password", autocomplete="new-password", required=""
    )


def register_form(typed: dict, error: str = "") -> str:
    value = typed.get
    return f"""
<h1>Create a customer account</h1>
{message(error)}
<form method="post" action="register">
  {field("Full name", "name", value("name", ""), autocomplete="name", required="")}
  {field("E-mail (your login name)", "email", value("email", ""), "email", required="")}
  {field("Contact number", "phone", value("phone", ""), "tel", autocomplete="tel")}
  {new_password_fields()}
  <button type="submit">Create account</button>
</form>
<p class="alt">Already registered? <a href="login">Log in</a></p>
<p class="alt">Already a customer of the shop but never logged in? Ask the shop for an
invitation link.</p>"""


def invite_form(invitation, token: str, error: str = "") -> str:
    return f"""
<h1>Welcome, {escape(invitation.name)}</h1>
{message(error)}
<p>Choose a password for the customer portal. You will log in with your e-mail address.</p>
<form method="post" action="invite">
  <input type="hidden" name="token" value="{escape(token)}">
  {
        field(
            "E-mail (your login name)",
            "username",
            invitation.email,
            readonly="",
            autocomplete="username",
        )
    }
  {new_password_fields()}
  <button type="submit">Set password</button>
</form>"""


def unusable_invitation(exc: CRPMError) -> HTMLResponse:
    """One page for every link that cannot be used (and for an address that must wait)."""
    reason = exc.reason if isinstance(exc, InvalidInvitation) else exc.message
    body = f"""
<h1>{escape(INVITATION_UNUSABLE)}</h1>
{message(reason[:1].upper() + reason[1:] + ".")}
<p class="alt"><a href="login">Log in</a></p>"""
    return page("Invitation", body, 410)


def logout_form() -> str:
    return """
<h1>Log out of CRPM?</h1>
<form method="post" action="logout"><button type="submit">Log out</button></form>
<p class="alt"><a href="./">Back to the dashboard</a></p>"""


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · CRPM</title>
<style>
  body {{ margin: 0; min-height: 100vh; display: grid; place-items: center;
         font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
         background: linear-gradient(135deg, #eef2ff, #f8fafc); color: #1f2937; }}
  main {{ width: min(420px, 92vw); background: #fff; border-radius: 14px; padding: 32px 36px;
         box-shadow: 0 10px 30px rgba(30, 41, 59, .12); }}
  .brand {{ font-weight: 800; letter-spacing: .08em; color: #4f46e5; margin: 0 0 4px; }}
  h1 {{ font-size: 1.35rem; margin: 0 0 18px; }}
  label {{ display: block; font-size: .9rem; font-weight: 600; margin: 14px 0 6px; }}
  input {{ width: 100%; box-sizing: border-box; padding: 10px 12px; font-size: 1rem;
          border: 1px solid #cbd5e1; border-radius: 8px; }}
  input:focus {{ outline: 2px solid #6366f1; border-color: #6366f1; }}
  button {{ margin-top: 22px; width: 100%; padding: 11px; font-size: 1rem; font-weight: 600;
           color: #fff; background: #4f46e5; border: 0; border-radius: 8px; cursor: pointer; }}
  button:hover {{ background: #4338ca; }}
  .error {{ background: #fef2f2; color: #b91c1c; border: 1px solid #fecaca; padding: 10px 12px;
           border-radius: 8px; }}
  .notice {{ background: #ecfdf5; color: #047857; border: 1px solid #a7f3d0; padding: 10px 12px;
            border-radius: 8px; }}
  .alt {{ margin: 20px 0 0; font-size: .95rem; text-align: center; }}
  a {{ color: #4f46e5; }}
</style></head>
<body><main><p class="brand">CRPM</p>
<p class="notice" id="framed" hidden>Browsers keep the login of a page shown inside another
site to themselves: <a href="./" target="_blank" rel="noopener">open CRPM in its own tab</a>.</p>
{body}</main>
<script>if (window.top !== window.self) document.getElementById("framed").hidden = false;</script>
</body></html>"""
