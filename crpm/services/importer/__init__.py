"""CSV import of customers, products and past purchases: checked whole, written all or nothing.

An import runs in two passes on the store's connection of its thread, with scratch tables on it
(`staging.py`: a scratch database attached on SQLite, temporary tables on PostgreSQL):

1. check: the file is read row by row (`reading.py`); each row is validated (`checking.py`) and
   the clean values go into a staging table (so memory stays flat for a file of any size).
   Checks that need the whole file (a key twice in the file, an order_ref whose rows
   disagree) run as SQL over the staging table.
2. write (skipped by a dry run or when any row is bad): one unit of work, `store.write()`,
   moves the staged rows into the store (`writing.py`) and writes one audit row.

The dashboard calls `preview(...)` (a dry run with the first rows) and then `run(...)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from crpm.db import BaseStore
from crpm.errors import ValidationError
from crpm.permissions import Actor, ensure
from crpm.services.importer.checking import check_whole_file
from crpm.services.importer.reading import MAX_COLUMNS, CsvSource
from crpm.services.importer.report import MAX_PROBLEMS, ImportReport, Problem, Problems
from crpm.services.importer.specs import KINDS, SPECS
from crpm.services.importer.staging import remove_abandoned_scratch, stage, staging
from crpm.services.importer.writing import count_outcome, write

__all__ = [
    "KINDS",
    "MAX_COLUMNS",
    "SPECS",
    "ImportReport",
    "ImportService",
    "Problem",
    "remove_abandoned_scratch",
]
PREVIEW_ROWS = 20

Progress = Callable[..., None]  # progress(done, total, stage)


class ImportService:
    """Imports for an actor who manages records; `preview` for the dashboard's check."""

    def __init__(self, store: BaseStore):
        self.store = store

    def preview(
        self, actor: Actor, kind: str, path, update=False, rows=PREVIEW_ROWS, progress=None
    ) -> ImportReport:
        """A dry run: the whole check, the first `rows` rows as read, every problem."""
        return self.run(
            actor, kind, path, dry_run=True, update=update, progress=progress, preview_rows=rows
        )

    def run(
        self,
        actor: Actor,
        kind: str,
        path,
        dry_run: bool = False,
        update: bool = False,
        progress: Progress | None = None,
        preview_rows: int = 0,
        max_problems: int = MAX_PROBLEMS,
    ) -> ImportReport:
        """Check the whole file; unless it is a dry run or a row is bad, write it all at once.

        Raises ValidationError for an unusable file (missing, empty, not UTF-8, a required
        column missing); bad rows are listed in the report instead. `progress(done, total,
        stage)` with stage "check", then "write".
        """
        ensure(actor, "manage_records")
        if kind not in KINDS:
            raise ValidationError("kind", f"must be one of {', '.join(KINDS)}")
        started = time.perf_counter()
        spec, source = SPECS[kind], CsvSource(path)
        report = ImportReport(kind, source.path.name, dry_run, update, columns=list(spec.columns))
        with staging(self.store) as conn:
            problems = Problems(max_problems)
            stage(self.store, spec, source, report, problems, progress, preview_rows)
            check_whole_file(conn, self.store.dialect, spec, problems)
            report.problems, report.problem_count = problems.sorted(), problems.count
            if report.ok and dry_run:
                with self.store.read() as snapshot:  # the counts agree with each other
                    count_outcome(snapshot, spec, report)
            elif report.ok:
                write(self.store, actor, spec, report, progress)
        report.seconds = time.perf_counter() - started
        return report
