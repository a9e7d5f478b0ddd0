"""import and export: CSV in and out of the store, with a progress bar."""

from __future__ import annotations

import sys

from crpm.commands import open_existing
from crpm.permissions import SYSTEM


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import", help="import customers, products or past purchases from CSV (all or nothing)"
    )
    parser.add_argument("kind", choices=("customers", "products", "purchases"))
    parser.add_argument("file")
    parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    parser.add_argument(
        "--update",
        action="store_true",
        help="existing customers (by e-mail) / products (by SKU) take the file's values",
    )
    parser.set_defaults(handler=run_import)

    export = subparsers.add_parser("export", help="export records to CSV")
    export.add_argument("kind", choices=exporter_kinds())
    export.add_argument("file", help="the CSV file to write ('-' for standard output)")
    export.set_defaults(handler=run_export)


def run_import(args) -> int:
    from crpm.db import open_store
    from crpm.services.importer import ImportService

    imports = ImportService(open_store(args.db))
    with ProgressBar("B", unit_scale=True) as bar:
        report = imports.run(
            SYSTEM,
            args.kind,
            args.file,
            dry_run=args.dry_run,
            update=args.update,
            progress=bar,
        )
    print(report.text())
    return 0 if report.ok else 1


def run_export(args) -> int:
    from crpm.services.exporter import ExportService

    exports = ExportService(open_existing(args.db))
    if args.file == "-":
        rows = exports.export(SYSTEM, args.kind, sys.stdout)
    else:
        with ProgressBar(" rows") as bar:
            rows = exports.export(SYSTEM, args.kind, args.file, progress=bar)
        print(f"{rows:,} {args.kind} row(s) written to {args.file}")
    return 0


class ProgressBar:
    """A tqdm bar on stderr fed with progress(done, total[, stage]) calls from the library."""

    def __init__(self, unit: str, total: int | None = None, unit_scale: bool = False):
        self.options = {"unit": unit, "total": total, "unit_scale": unit_scale}

    def __enter__(self):
        from tqdm import tqdm

        self.bar = tqdm(leave=False, file=sys.stderr, **self.options)
        return self

    def __call__(self, done: int, total: int | None = None, stage: str | None = None) -> None:
        if total is not None and total != self.bar.total:
            self.bar.total = total
        if stage and stage != self.bar.desc:
            self.bar.set_description(stage)
            self.bar.reset(total=total)
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc) -> None:
        self.bar.close()


def exporter_kinds() -> tuple[str, ...]:
    from crpm.services.exporter import KINDS

    return KINDS
