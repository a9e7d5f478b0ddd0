"""Import & export tab: check and import a CSV file, download CSV exports, and (admins) a backup.

An import is two steps: `import_check` runs the importer's dry run over the whole file and
shows the first rows and every problem; only a clean check enables the Import button, which asks
first (crpm/ui/confirm.py) and then runs `import_run` (the importer checks the file again and
writes all of it or nothing).
Exports and the backup are links to routes of crpm/ui/downloads.py, which check the session on
every download and stream the file; nothing goes through Gradio's file cache, whose route
answers any logged-in user.
"""

from __future__ import annotations

import json

import gradio as gr
import pandas as pd

from crpm.errors import ValidationError
from crpm.permissions import RULES
from crpm.services.importer import ImportReport
from crpm.ui import downloads
from crpm.ui.common import (
    COUNT,
    WRAP_ALL,
    Column,
    UIContext,
    count,
    data_table,
    guarded,
    headings,
    info,
    md,
    table,
    warning,
)
from crpm.ui.confirm import ask_first

IMPORT_KINDS = [("Customers", "customers"), ("Products", "products"), ("Purchases", "purchases")]
EXPORT_KINDS = [
    ("Customers", "customers"),
    ("Products", "products"),
    ("Purchases (one row per line)", "purchases"),
    ("Stock movements", "movements"),
    ("Tickets", "tickets"),
]
COLUMNS_HELP = {
    "customers": "`name`, `email` required; `phone`, `company`, `address`, `city`, `country`, "
    "`notes`, `status` optional. Existing customers match on e-mail.",
    "products": "`sku`, `name`, `price` required; `stock` (default 0), `category`, "
    "`reorder_level`, `description`, `status` optional. Existing products match on SKU.",
    "purchases": "`order_ref`, `customer_email`, `sku`, `quantity`, `unit_price`, `purchased_at` "
    "required (rows with the same `order_ref` are one purchase); `cancelled_at`, "
    "`returned_quantity`, `returned_at` optional. Past purchases never change stock.",
}
PROBLEM_COLUMNS = (
    Column("line", "Line", COUNT),
    Column("column", "Column"),
    Column("reason", "Problem"),
)
NOUNS = {"customers": "customer", "products": "product", "purchases": "purchase"}
NO_FILE = "choose a CSV file to upload first"
PROGRESS = gr.Progress()  # Gradio fills in a progress bar for the event running


def uploaded(file) -> str:
    """The server path of an uploaded file (gr.File with type="filepath")."""
    path = getattr(file, "path", None) or (file.get("path") if isinstance(file, dict) else file)
    if not path:
        raise ValidationError("file", NO_FILE)
    return str(path)


def progress_bar(progress: gr.Progress):
    """The importer's progress(done, total[, stage]) as a Gradio progress bar."""

    def report(done, total, stage="write"):
        label = "Checking rows" if stage == "check" else "Writing rows"
        progress(done / total if total else 1.0, desc=label)

    return report


def confirm_button(enabled: bool) -> gr.Button:
    """The Import the file button: once a check was clean, on and styled as dangerous (it writes
    the whole file into the store, and can overwrite records); off otherwise."""
    return gr.Button(interactive=enabled, variant="stop" if enabled else "secondary")


def problems_table(report: ImportReport) -> pd.DataFrame:
    rows = [
        {"line": problem.line, "column": problem.column, "reason": problem.reason}
        for problem in report.problems
    ]
    return table(rows, PROBLEM_COLUMNS)


def preview_table(report: ImportReport) -> pd.DataFrame:
    if not report.preview:
        return pd.DataFrame(columns=["Line"])
    frame = pd.DataFrame(report.preview, dtype=object).fillna("")
    return frame.rename(columns={"line": "Line"})


def outcome_counts(report: ImportReport) -> str:
    """'3 customers added, 1 updated, 2 already there' (what happened, or would)."""
    parts = [f"{count(report.created, NOUNS[report.kind])} added"]
    if report.kind == "purchases":
        parts.append(f"{count(report.lines, 'line')}")
    if report.update:
        parts.append(f"{report.updated:,} updated, {report.unchanged:,} unchanged")
    if report.existing:
        parts.append(f"{report.existing:,} already in the store and left as they are")
    return ", ".join(parts)


def check_summary(report: ImportReport) -> str:
    lines = [f"**{md(report.file)}**: {count(report.rows, 'row')} read."]
    lines += [f"⚠ {md(note)}" for note in report.warnings]
    if report.ok:
        lines.append(f"✓ No problems. Confirming would give: {outcome_counts(report)}.")
        return "\n\n".join(lines)
    hidden = report.problem_count - len(report.problems)
    more = f" (the first {len(report.problems)} are listed)" if hidden > 0 else ""
    lines.append(
        f"✗ **{count(report.problem_count, 'problem')}** found{more}. Fix the file and check "
        "it again; nothing can be imported until it is clean."
    )
    return "\n\n".join(lines)


def run_summary(report: ImportReport) -> str:
    if not report.ok:
        return check_summary(report).replace("Fix the file", "Nothing was written. Fix the file")
    warnings = "".join(f"\n\n⚠ {md(note)}" for note in report.warnings)
    return (
        f"✓ **Imported {md(report.file)}**: {outcome_counts(report)}, "
        f"in {report.seconds:.1f} s.{warnings}"
    )


class DataHandlers:
    """One method per event; each resolves who is acting and calls one library function."""

    def __init__(self, ctx: UIContext):
        self.ctx = ctx
        self.imports = ctx.services.imports

    @guarded
    def import_check(self, kind, file, update, request: gr.Request, progress=PROGRESS):
        """Dry run: the whole file checked, the first rows and every problem; writes nothing."""
        actor = self.ctx.actor(request)
        report = self.imports.preview(
            actor, kind, uploaded(file), bool(update), progress=progress_bar(progress)
        )
        if not report.ok:
            warning(f"{count(report.problem_count, 'problem')} in {report.file}; see the list")
        return (
            check_summary(report),
            problems_table(report),
            preview_table(report),
            confirm_button(report.ok),
        )

    @guarded
    def describe_import_run(self, kind, file, update, request: gr.Request, progress=PROGRESS):
        """What import_run would write: the file checked again (a dry run), its outcome told."""
        actor = self.ctx.actor(request)
        report = self.imports.preview(
            actor, kind, uploaded(file), bool(update), progress=progress_bar(progress)
        )
        if not report.ok:
            problems = count(report.problem_count, "problem")
            raise ValidationError("file", f"{problems} in {report.file}; check the file again")
        return (
            f"**Import {md(report.file)} into the store?** It gives: {outcome_counts(report)}."
            " All of it is written, or nothing; an import is not undone from the dashboard."
        )

    @guarded
    def import_run(self, kind, file, update, request: gr.Request, progress=PROGRESS):
        """Import the file: all of it, or nothing when any row is bad (the problems come back)."""
        actor = self.ctx.actor(request)
        report = self.imports.run(
            actor, kind, uploaded(file), update=bool(update),
            progress=progress_bar(progress),
        )  # fmt: skip
        if report.ok:
            info(f"Import done: {outcome_counts(report)}", title="Imported")
        else:
            warning(f"Nothing imported: {count(report.problem_count, 'problem')} in the file")
        return run_summary(report), problems_table(report), confirm_button(False)

    @guarded
    def backup_section(self, request: gr.Request):
        """Show the backup part to admins (comfort only: the service refuses everyone else)."""
        return gr.Column(visible=self.ctx.actor(request).role in RULES["admin"])


def build_import(handlers: DataHandlers) -> None:
    with gr.Column(elem_classes="crpm-card", elem_id="data-import"):
        gr.Markdown(
            "### Import from CSV\nCheck the file first: every row is validated and nothing is "
            "written. If the check is clean, confirm to import it, all of it or nothing."
        )
        with gr.Row(equal_height=True):
            kind = gr.Radio(IMPORT_KINDS, value="customers", label="What the file holds", scale=2)
            update = gr.Checkbox(
                label="Update existing records with the file's values",
                info="Without it, records already in the store are reported and left alone.",
                scale=2,
            )
        hint = gr.Markdown(f"Columns for customers: {COLUMNS_HELP['customers']}")
        gr.Markdown(
            "UTF-8 (Excel's too), separated by commas, semicolons or tabs, headers in any order.",
            elem_classes="crpm-note",
        )
        file = gr.File(
            label="CSV file",
            file_types=[".csv", ".txt", ".tsv"],
            type="filepath",
            elem_id="import-file",
        )
        with gr.Row():
            check = gr.Button("Check file", variant="primary", elem_id="import-check")
            confirm = gr.Button("Import the file", interactive=False, elem_id="import-confirm")
        confirm_yes = ask_first(
            confirm, handlers.describe_import_run, [kind, file, update], "Yes, import it"
        )
        summary = gr.Markdown(elem_id="import-summary")
        problems = data_table(
            PROBLEM_COLUMNS,
            "Problems (line in the file, column, reason)",
            max_height=360,
            elem_id="import-problems",
        )
        preview = gr.Dataframe(
            value=pd.DataFrame(columns=["Line"]),
            label="First rows of the file",
            interactive=False,
            wrap=True,
            max_height=360,
            elem_classes=WRAP_ALL,  # the file's own columns, all text
            elem_id="import-preview",
        )
    inputs = [kind, file, update]
    check.click(
        handlers.import_check,
        inputs,
        [summary, problems, preview, confirm],
        api_name="import_check",
    )
    confirm_yes.click(
        handlers.import_run, inputs, [summary, problems, confirm], api_name="import_run"
    )
    # A new file, kind or update choice needs a new check. The reset runs in the browser, so it
    # cannot land after a quick Check (a server event could) and wipe its answer.
    reset = dict(fn=None, inputs=kind, outputs=[hint, summary, problems, preview, confirm])
    for listener in (kind.input, update.input, file.change):
        listener(**reset, js=reset_script(), show_progress="hidden")


def reset_script() -> str:
    """The page script behind the import form's reset: the kind's column hint, no answer, no
    problems, no preview, the Import button off."""
    hints = {kind: f"Columns for {kind}: {text}" for kind, text in COLUMNS_HELP.items()}
    problems = {"headers": headings(PROBLEM_COLUMNS), "data": []}
    preview = {"headers": ["Line"], "data": []}
    off = {"__type__": "update", "interactive": False, "variant": "secondary"}
    answers = f"'', {json.dumps(problems)}, {json.dumps(preview)}, {json.dumps(off)}"
    return f"(kind) => [{json.dumps(hints)}[kind] || '', {answers}]"


def build_export() -> None:
    with gr.Column(elem_classes="crpm-card", elem_id="data-export"):
        gr.Markdown(
            "### Export to CSV\nThe whole table as it is now, one consistent snapshot, "
            "made when you click its link."
        )
        links = (downloads.export_link(kind, label) for label, kind in EXPORT_KINDS)
        gr.HTML(" ".join(links), elem_id="export-links")


POSTGRES_BACKUP = """### Backup (administrators)
The store is a PostgreSQL database: back it up with PostgreSQL's own tools, a consistent copy
while the app keeps working (`URL` is the store's `--db`):

    pg_dump --format=custom --file=crpm.dump URL

and restore it with the app stopped:

    pg_restore --clean --if-exists --dbname=URL crpm.dump"""


def build_backup(dialect: str) -> gr.Column:
    with gr.Column(elem_classes="crpm-card", elem_id="data-backup", visible=False) as section:
        if dialect != "sqlite":
            gr.Markdown(POSTGRES_BACKUP)
            return section
        gr.Markdown(
            "### Backup (administrators)\nA consistent copy of the whole store, taken while the "
            "app keeps working. Restore it with `python -m crpm restore FILE` (app stopped)."
        )
        gr.HTML(downloads.backup_link(), elem_id="backup-link")
    return section


def build(ctx: UIContext) -> list[dict]:
    """Lay out the Import & export tab; returns the event that refreshes it when shown."""
    handlers = DataHandlers(ctx)
    build_import(handlers)
    with gr.Row(equal_height=False):
        build_export()
        section = build_backup(ctx.services.store.dialect)
    return [dict(fn=handlers.backup_section, outputs=section, api_visibility="private")]
