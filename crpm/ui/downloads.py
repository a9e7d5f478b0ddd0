"""Downloads the dashboard links to: the Analytics tab's tables, the Data tab's CSV exports and
the admins' backup, each made when its link is followed.

A refresh used to write nine CSV files that Gradio then copied into its cache, whether or not
anyone downloaded them (a tenth of a 1M-line refresh). Exports and backups went the same way,
and Gradio's file route serves its cache to any logged-in user, so a customer holding such a
link could fetch the whole store. Now the page shows links to these routes, which check the
session and the role like every handler does, on every download, and make the file then.
Cells a spreadsheet would run as formulas are made inert (crpm.services.exporter).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import replace
from html import escape
from pathlib import Path
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from crpm.analytics.output import public_frame
from crpm.errors import CRPMError, NotFound, PermissionDenied
from crpm.services import exporter
from crpm.ui.analytics_tables import TABLES, table
from crpm.ui.session import acting_user

ANALYTICS_ROUTE = "/download/analytics/{key}.csv"
EXPORT_ROUTE = "/download/export/{kind}.csv"
BACKUP_ROUTE = "/download/backup"
INVOICE_ROUTE = "/download/invoice/{purchase_id}.pdf"
CREDIT_NOTE_ROUTE = "/download/credit-note/{number}.pdf"
PDF_TYPE = "application/pdf"
CSV_TYPE = "text/csv; charset=utf-8"


def analytics_link(key: str, title: str, date_from, date_to, grain: str) -> str:
    """The page's link to one table's CSV for the range it shows (a relative URL, so it works
    behind a share link or a Space's proxy)."""
    query = {"from": date_from or "", "to": date_to or "", "grain": grain}
    href = ANALYTICS_ROUTE.format(key=key) + "?" + urlencode(query)
    return link(href, f"Download {title.lower()} (CSV)", f"{key}.csv")


def export_link(kind: str, label: str) -> str:
    """The page's link to the CSV export of one kind of record."""
    return link(EXPORT_ROUTE.format(kind=kind), label)


def backup_link() -> str:
    return link(BACKUP_ROUTE, "Download a backup")


def document_links(purchase, credit_notes: list[str]) -> str:
    """Links to a purchase's invoice and credit notes as PDF (or why there is no invoice)."""
    if purchase.invoice_number is None:
        return f"No invoice: {purchase.source} purchases were invoiced where they came from."
    links = [
        link(INVOICE_ROUTE.format(purchase_id=purchase.id), f"Invoice {purchase.invoice_number}")
    ]
    links += [
        link(CREDIT_NOTE_ROUTE.format(number=number), f"Credit note {number}")
        for number in credit_notes
    ]
    return " · ".join(links)


def link(route: str, text: str, filename: str = "") -> str:
    """A download link to `route`, relative, so it works behind a share link or a Space's
    proxy. Without a `filename` the browser uses the one the server sends."""
    return (
        f'<a class="crpm-download-link" href="{escape(route.lstrip("/"))}" '
        f'download="{escape(filename)}">{escape(text)}</a>'
    )


def add_routes(app, ctx) -> None:
    """Register the download routes on the web app the dashboard is served on."""

    def analytics_csv(key: str, request: Request) -> Response:
        if key not in TABLES:
            return refusal(404, f"no analytics table called {key!r}")
        query = request.query_params

        def send(actor) -> Response:
            start, end = query.get("from") or None, query.get("to") or None
            result = ctx.analytics.page(actor, start, end, grain=query.get("grain") or "month")
            return csv_response(public_frame(table(result, key)), f"{key}.csv")

        return as_session_user(ctx, request, send)

    def export_csv(kind: str, request: Request) -> Response:
        if kind not in exporter.KINDS:
            return refusal(404, f"no export called {kind!r}")

        def send(actor) -> Response:
            chunks = ctx.services.exports.stream(actor, kind)
            first = next(chunks)  # the permission and the snapshot are checked by now
            return StreamingResponse(
                prepended(first, chunks),
                media_type=CSV_TYPE,
                headers=attachment(dated(kind, ".csv", ctx.clock)),
            )

        return as_session_user(ctx, request, send)

    def backup_file(request: Request) -> Response:
        def send(actor) -> Response:
            path = fresh_backup(ctx.services, actor)
            return FileResponse(
                path,
                media_type="application/vnd.sqlite3",
                headers=attachment(path.name),
                background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True),
            )

        return as_session_user(ctx, request, send)

    def invoice_pdf(purchase_id: str, request: Request) -> Response:
        documents = ctx.services.documents
        return as_session_user(
            ctx, request, lambda actor: pdf_response(ctx, documents.invoice(actor, purchase_id))
        )

    def credit_note_pdf(number: str, request: Request) -> Response:
        documents = ctx.services.documents
        return as_session_user(
            ctx, request, lambda actor: pdf_response(ctx, documents.credit_note(actor, number))
        )

    routes = {
        ANALYTICS_ROUTE: analytics_csv,
        EXPORT_ROUTE: export_csv,
        BACKUP_ROUTE: backup_file,
        INVOICE_ROUTE: invoice_pdf,
        CREDIT_NOTE_ROUTE: credit_note_pdf,
    }
    for route, handler in routes.items():
        app.add_api_route(route, handler, methods=["GET"], include_in_schema=False)


def as_session_user(ctx, request: Request, send) -> Response:
    """`send(actor)` for the request's live session. 401 without one (none, expired, ended or
    forged), 403 when the service refuses that user's role, 400 (the message) for bad input."""
    try:
        actor = acting_user(ctx.services, request)
    except PermissionDenied as exc:
        return refusal(401, exc.message)
    try:
        return send(actor)
    except PermissionDenied as exc:
        return refusal(403, exc.message)
    except NotFound as exc:  # another customer's record reads the same as none
        return refusal(404, exc.message)
    except CRPMError as exc:
        return refusal(400, exc.message)


def refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def fresh_backup(services, actor) -> Path:
    """A backup of the store in a new temp folder only this process's user can read (backup
    refuses anyone but an admin); the caller removes the folder once the file is sent."""
    folder = Path(tempfile.mkdtemp(prefix="crpm-backup-"))
    try:
        dest = folder / dated("backup", ".db", services.store.clock)
        return Path(services.backups.backup(actor, dest)["file"])
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def pdf_response(ctx, document) -> Response:
    """An issued document as a PDF download, in the dashboard's currency, the shop's locale and
    its day."""
    shop = ctx.shop
    shown = replace(document, currency=shop.symbol, time_zone=shop.zone, locale=shop.locale)
    name, data = ctx.services.documents.pdf(shown)
    return Response(data, media_type=PDF_TYPE, headers=attachment(name))


def csv_response(frame, filename: str) -> Response:
    text = io.StringIO()
    exporter.export_frame(frame, text)
    return Response(
        text.getvalue().encode("utf-8"), media_type=CSV_TYPE, headers=attachment(filename)
    )


def attachment(filename: str) -> dict:
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


def dated(stem: str, suffix: str, clock) -> str:
    """crpm-customers-20260131-142501.csv: the file says what it holds and when it was made."""
    return f"crpm-{stem}-{clock.current():%Y%m%d-%H%M%S}{suffix}"


def prepended(first: str, rest):
    yield first
    yield from rest
