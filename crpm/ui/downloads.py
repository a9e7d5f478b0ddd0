"""CSV downloads of the Analytics tab's tables, written when a link is clicked.

A refresh used to write nine CSV files that Gradio then copied into its cache, whether or not
anyone downloaded them (a tenth of a 1M-line refresh). Now the page shows links to this route,
which checks the session like every handler does, runs the same report for the same range and
sends that one table. Cells a spreadsheet would run as formulas are made inert (export_frame).
"""

from __future__ import annotations

import io
from html import escape
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from crpm.errors import CRPMError, PermissionDenied
from crpm.exporter import export_frame
from crpm.ui.analytics_tables import TABLES, table
from crpm.ui.reports import exportable
from crpm.ui.session import acting_user, session_token

ANALYTICS_ROUTE = "/download/analytics/{key}.csv"


def analytics_link(key: str, title: str, date_from, date_to, grain: str) -> str:
    """The page's link to one table's CSV for the range it shows (a relative URL, so it works
    behind a share link or a Space's proxy)."""
    query = {"from": date_from or "", "to": date_to or "", "grain": grain}
    href = ANALYTICS_ROUTE.format(key=key).lstrip("/") + "?" + urlencode(query)
    return (
        f'<a class="crpm-download-link" href="{escape(href)}" download="{key}.csv">'
        f"Download {escape(title.lower())} (CSV)</a>"
    )


def add_routes(app, ctx) -> None:
    """Register the download route on the web app the dashboard is served on."""

    def analytics_csv(key: str, request: Request) -> Response:
        if key not in TABLES:
            return refusal(404, f"no analytics table called {key!r}")
        query = request.query_params
        try:
            actor = acting_user(ctx.services, request)
            start, end = query.get("from") or None, query.get("to") or None
            result = ctx.analytics.page(actor, start, end, grain=query.get("grain") or "month")
        except PermissionDenied as exc:
            return refusal(401 if session_token(request) is None else 403, exc.message)
        except CRPMError as exc:
            return refusal(400, exc.message)
        return csv_response(exportable(table(result, key)), f"{key}.csv")

    app.add_api_route(ANALYTICS_ROUTE, analytics_csv, methods=["GET"], include_in_schema=False)


def refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def csv_response(frame, filename: str) -> Response:
    text = io.StringIO()
    export_frame(frame, text)
    return Response(
        text.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
