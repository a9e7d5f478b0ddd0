"""Who is acting: every handler asks `acting_user` and passes the answer to the service.

The login page (crpm/ui/auth.py) puts a server-side session token in an HttpOnly cookie. Every
call looks that token up in the store (`accounts.actor_for_session`), so logging out, a
password or role change, deactivation and erasure take effect on the very next click, even in a
page opened before. There is no anonymous or default user: no valid session, no access.
"""

from __future__ import annotations

from crpm.errors import PermissionDenied
from crpm.permissions import Actor

SESSION_COOKIE = "crpm_session"


def session_token(request) -> str | None:
    """The session token a request carries (a FastAPI request or a gr.Request), or None."""
    cookies = getattr(request, "cookies", None) if request is not None else None
    token = cookies.get(SESSION_COOKIE) if cookies is not None else None
    return token if isinstance(token, str) and token else None


def acting_user(services, request) -> Actor:
    """The Actor on whose behalf this request runs; raises PermissionDenied if there is none."""
    token = session_token(request)
    if token is None:
        raise PermissionDenied("please log in")
    return services.accounts.actor_for_session(token)
