"""Sales documents and settings: invoices and credit notes as PDF, tax rates, the shop's details."""

from __future__ import annotations

from pathlib import Path

from crpm.commands import open_existing
from crpm.config import Settings
from crpm.permissions import SYSTEM

YES_NO = {"yes": True, "no": False}


def register(subparsers) -> None:
    invoice = subparsers.add_parser("invoice", help="write a purchase's invoice as a PDF")
    invoice.add_argument("purchase_id", metavar="PURCHASE_ID")
    invoice.add_argument("--out", metavar="FILE", help="the PDF to write (default: NUMBER.pdf)")
    invoice.set_defaults(handler=run_invoice)

    credit = subparsers.add_parser("credit-note", help="write a credit note as a PDF")
    credit.add_argument("number", metavar="NUMBER", help="e.g. CN-2026-000045")
    credit.add_argument("--out", metavar="FILE", help="the PDF to write (default: NUMBER.pdf)")
    credit.set_defaults(handler=run_credit_note)

    rates = subparsers.add_parser("tax-rate", help="tax rates: list, add, retire, set a product's")
    actions = rates.add_subparsers(dest="action", required=True, metavar="action")
    listing = actions.add_parser("list", help="the rates (--all: retired ones too)")
    listing.add_argument("--all", action="store_true")
    add = actions.add_parser("add", help="a new named rate, e.g. Standard 20")
    add.add_argument("name")
    add.add_argument("percent")
    retire = actions.add_parser("retire", help="no new sale takes this rate")
    retire.add_argument("rate_id", metavar="RATE_ID")
    product = actions.add_parser("product", help="a product's rate ('default': the shop's)")
    product.add_argument("product_id", metavar="PRODUCT_ID")
    product.add_argument("rate_id", metavar="RATE_ID|default")
    rates.set_defaults(handler=run_tax_rate)

    shop = subparsers.add_parser("shop", help="the shop's details on documents and sales rules")
    shop.add_argument("--name")
    shop.add_argument("--address", help="lines separated by '\\n'")
    shop.add_argument("--tax-number")
    shop.add_argument("--payment-note")
    shop.add_argument("--prices-include-tax", choices=tuple(YES_NO))
    shop.add_argument("--default-rate", metavar="RATE_ID", help="a rate id, or '' for none")
    shop.set_defaults(handler=run_shop)


def run_invoice(args) -> int:
    from crpm.services.documents import DocumentService

    documents = DocumentService(open_existing(args.db), Settings.from_env().currency)
    return _write_pdf(documents, documents.invoice(SYSTEM, args.purchase_id), args.out)


def run_credit_note(args) -> int:
    from crpm.services.documents import DocumentService

    documents = DocumentService(open_existing(args.db), Settings.from_env().currency)
    return _write_pdf(documents, documents.credit_note(SYSTEM, args.number), args.out)


def _write_pdf(documents, document, out) -> int:
    name, data = documents.pdf(document)
    path = Path(out or name)
    path.write_bytes(data)
    print(f"{document.number} written to {path}")
    return 0


def run_tax_rate(args) -> int:
    from crpm.services.taxes import TaxService

    taxes = TaxService(open_existing(args.db))
    if args.action == "add":
        print(f"added rate #{taxes.add_rate(SYSTEM, args.name, args.percent).id}")
    elif args.action == "retire":
        print(f"retired {taxes.retire_rate(SYSTEM, args.rate_id).label}")
    elif args.action == "product":
        rate = None if args.rate_id == "default" else args.rate_id
        taxes.set_product_rate(SYSTEM, args.product_id, rate)
        print(f"product #{args.product_id} sells at {args.rate_id if rate else 'the default rate'}")
    else:
        for rate in taxes.rates(SYSTEM, include_retired=args.all):
            print(f"{rate.id:>4}  {rate.label}  {rate.status}")
    return 0


def run_shop(args) -> int:
    from crpm.services.taxes import TaxService

    taxes = TaxService(open_existing(args.db))
    changes = {
        key: value
        for key, value in {
            "name": args.name,
            "address": args.address and args.address.replace("\\n", "\n"),
            "tax_number": args.tax_number,
            "payment_note": args.payment_note,
            "prices_include_tax": args.prices_include_tax and YES_NO[args.prices_include_tax],
            "default_tax_rate_id": args.default_rate,
        }.items()
        if value is not None
    }
    settings = taxes.update_settings(SYSTEM, **changes) if changes else taxes.settings(SYSTEM)
    for key, value in settings.to_dict().items():
        print(f"{key}: {value if value not in (None, '') else '-'}")
    return 0
