"""An issued invoice or credit note as a PDF: A4 pages, every script a customer's name may use.

Fonts ship in crpm/fonts (see its README): DejaVu Sans prints Latin, Greek, Cyrillic and Arabic;
Droid Sans Fallback prints Chinese, Japanese and Korean and is loaded only when the document
needs it (parsing it takes half a second). Text shaping (HarfBuzz), on when the document has
right-to-left text or combining marks, joins Arabic letters and sets them right to left."""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF, FontFace, XPos, YPos

from crpm.models import DocumentLine, Party, SalesDocument, format_money
from crpm.shoplocale import show_time

LOGGER = logging.getLogger(__name__)
FONTS = Path(__file__).resolve().parent / "fonts"
MAIN_FONT = "dejavu"
CJK_FONT = "droid"
TITLES = {"invoice": "Invoice", "credit_note": "Credit note"}
NOTE_LABELS = {"invoice": "Payment note", "credit_note": "Reason"}
# The lines table: heading, width in mm (180 in all: A4 less 15 mm margins), alignment. At 8 pt a
# money column of 20 mm holds "$999,999.99" on one line; larger amounts wrap inside their cell.
LINE_COLUMNS = (
    ("SKU", 21, "LEFT"),
    ("Description", 38, "LEFT"),
    ("Qty", 10, "RIGHT"),
    ("Unit price", 20, "RIGHT"),
    ("Discount", 20, "RIGHT"),
    ("Rate", 11, "RIGHT"),
    ("Net", 20, "RIGHT"),
    ("Tax", 20, "RIGHT"),
    ("Gross", 20, "RIGHT"),
)
RATE_HEADINGS = ("Tax rate", "Net", "Tax", "Gross")
HEADINGS_STYLE = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))
GREY = (90, 90, 90)
LINE_HEIGHT = 5  # mm, for 9 pt text
TABLE_PADDING = (0.8, 1)  # mm above and below, left and right of a table cell's text
TABLE_ROW = LINE_HEIGHT + 2 * TABLE_PADDING[0]


class _Page(FPDF):
    """A4 portrait with the document's number and the page count at the foot of every page."""

    def __init__(self, number: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.number = number
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(MAIN_FONT, size=8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.number} · page {self.page_no()} of {{nb}}", align="C")


def render(document: SalesDocument) -> bytes:
    """The document as PDF bytes; everything printed comes from the document itself."""
    pdf = _new_pdf(document)
    pdf.add_page()
    _heading(pdf, document)
    _parties(pdf, document)
    _lines_table(pdf, document)
    _rates_table(pdf, document)
    _totals(pdf, document)
    _remarks(pdf, document)
    return bytes(pdf.output())


def money(cents: int, document: SalesDocument) -> str:
    """Every amount on the page, e.g. "$1,234.50" or "-$3.00" (the shop's locale's way)."""
    return format_money(cents, document.currency, locale=document.locale)


def rate_text(rate: Decimal) -> str:
    """A tax rate as printed: 20 -> "20%", 5.5 -> "5.5%", 7.00 -> "7%"."""
    return f"{rate.normalize():f}%"


def _new_pdf(document: SalesDocument) -> _Page:
    pdf = _Page(document.number)
    issued = datetime.fromisoformat(document.issued_at).replace(tzinfo=timezone.utc)
    pdf.set_creation_date(issued)
    pdf.set_title(f"{TITLES[document.kind]} {document.number}")
    pdf.set_author(document.shop.name)
    pdf.set_creator("CRPM")
    _add_fonts(pdf, document)
    return pdf


def _add_fonts(pdf: FPDF, document: SalesDocument) -> None:
    """DejaVu Sans always; Droid Sans Fallback only for characters DejaVu Sans lacks (as fallback
    fonts slow every line down), with DejaVu's regular face standing in for the few glyphs its
    bold lacks. Characters no shipped font has are logged: with text shaping on, HarfBuzz drops
    them silently (fpdf2 warns of missing glyphs only when shaping is off)."""
    pdf.add_font(MAIN_FONT, "", FONTS / "DejaVuSans.ttf")
    pdf.add_font(MAIN_FONT, "B", FONTS / "DejaVuSans-Bold.ttf")
    chars = _printable(_all_text(document))
    missing = _lacking(pdf, MAIN_FONT, chars) | _lacking(pdf, MAIN_FONT + "B", chars)
    if missing:
        pdf.add_font(CJK_FONT, "", FONTS / "DroidSansFallbackFull.ttf")
        pdf.set_fallback_fonts([MAIN_FONT, CJK_FONT], exact_match=False)
        missing = _lacking(pdf, MAIN_FONT, missing) & _lacking(pdf, CJK_FONT, missing)
    if missing:
        LOGGER.warning("%s: no font has a glyph for %s", document.number, sorted(missing))
    if any(_needs_shaping(char) for char in chars):
        pdf.set_text_shaping(True)


def _printable(text: str) -> set[str]:
    return {c for c in text if not c.isspace() and unicodedata.category(c)[0] != "C"}


def _lacking(pdf: FPDF, font: str, chars: set[str]) -> set[str]:
    """The characters the font (an fpdf2 font key: family, then "B" for bold) has no glyph for."""
    cmap = pdf.fonts[font].cmap
    return {c for c in chars if ord(c) not in cmap}


def _needs_shaping(char: str) -> bool:
    """Right-to-left letters must be joined and reordered, marks placed: HarfBuzz does both. Other
    text is printed as it is, twice as fast."""
    rtl = unicodedata.bidirectional(char) in ("R", "AL", "AN")
    return rtl or unicodedata.category(char).startswith("M")


def _all_text(document: SalesDocument) -> str:
    parties = (document.shop, document.customer)
    texts = [document.note, *(line.description for line in document.lines)]
    texts += [line.sku for line in document.lines]
    texts += [text for party in parties for text in (party.name, party.tax_number, *party.lines)]
    return "".join(texts)


def _heading(pdf: FPDF, document: SalesDocument) -> None:
    pdf.set_font(MAIN_FONT, "B", 20)
    pdf.cell(0, 10, TITLES[document.kind], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    facts = [
        ("Number", document.number),
        ("Date of issue", show_time(document.issued_at, document.time_zone)[:10]),
    ]
    if document.refers_to:
        facts.append(("Credits invoice", document.refers_to))
    for label, value in facts:
        _labelled(pdf, label, value)
    pdf.ln(4)


def _labelled(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font(MAIN_FONT, "", 10)
    pdf.cell(32, 6, label)
    pdf.set_font(MAIN_FONT, "B", 10)
    pdf.cell(0, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _parties(pdf: FPDF, document: SalesDocument) -> None:
    """The shop on the left, the customer on the right, side by side."""
    top, column = pdf.get_y(), (pdf.epw - 10) / 2
    bottoms = [
        _party(pdf, pdf.l_margin, top, column, "From", document.shop),
        _party(pdf, pdf.l_margin + column + 10, top, column, "Bill to", document.customer),
    ]
    pdf.set_xy(pdf.l_margin, max(bottoms) + 6)


def _party(pdf: FPDF, x: float, y: float, width: float, heading: str, party: Party) -> float:
    pdf.set_xy(x, y)
    pdf.set_font(MAIN_FONT, "", 8)
    pdf.set_text_color(*GREY)
    _text(pdf, width, heading.upper())
    pdf.set_text_color(0)
    pdf.set_font(MAIN_FONT, "B", 11)
    _text(pdf, width, party.name, x)
    pdf.set_font(MAIN_FONT, "", 9)
    for line in party.lines:
        _text(pdf, width, line, x)
    if party.tax_number:
        _text(pdf, width, f"Tax number: {party.tax_number}", x)
    return pdf.get_y()


def _text(pdf: FPDF, width: float, text: str, x: float | None = None) -> None:
    """One left-aligned paragraph, wrapped to the width, then the next line at the same x."""
    if x is not None:
        pdf.set_x(x)
    pdf.multi_cell(width, LINE_HEIGHT, text, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)


def _lines_table(pdf: FPDF, document: SalesDocument) -> None:
    rows = [_line_row(line, document) for line in document.lines]
    headings, widths, align = zip(*LINE_COLUMNS, strict=True)
    _table(pdf, headings, rows, widths, align, width=pdf.epw)


def _line_row(line: DocumentLine, document: SalesDocument) -> tuple[str, ...]:
    amounts = (line.unit_cents, line.discount_cents)
    totals = (line.net_cents, line.tax_cents, line.gross_cents)
    return (
        line.sku,
        line.description,
        str(line.quantity),
        *(money(cents, document) for cents in amounts),
        rate_text(line.rate),
        *(money(cents, document) for cents in totals),
    )


def _rates_table(pdf: FPDF, document: SalesDocument) -> None:
    pdf.ln(4)
    _keep_together(pdf, 7 + (1 + len(document.by_rate)) * TABLE_ROW)  # title, headings, rates
    _section(pdf, "Tax breakdown")
    rows = [
        (rate_text(rate), *(money(cents, document) for cents in amounts))
        for rate, *amounts in document.by_rate
    ]
    _table(pdf, RATE_HEADINGS, rows, (1, 1, 1, 1), ("RIGHT",) * 4, width=100)


def _table(pdf: FPDF, headings, rows, widths, align, width: float) -> None:
    pdf.set_font(MAIN_FONT, "", 8)
    with pdf.table(
        col_widths=widths,
        width=width,
        align="LEFT",
        text_align=align,
        v_align="TOP",
        headings_style=HEADINGS_STYLE,
        line_height=LINE_HEIGHT,
        padding=TABLE_PADDING,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        for row in (headings, *rows):
            table.row(row)


def _keep_together(pdf: FPDF, height: float) -> None:
    """Start a new page unless `height` mm still fit on this one."""
    if pdf.will_page_break(height):
        pdf.add_page()


def _section(pdf: FPDF, title: str) -> None:
    pdf.set_font(MAIN_FONT, "B", 10)
    pdf.cell(0, 7, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _totals(pdf: FPDF, document: SalesDocument) -> None:
    """The sums, right-aligned under the tables, on one page; the gross is the "Total"."""
    pdf.ln(4)
    rows = [
        ("Discount", document.discount_cents, ""),
        ("Net", document.net_cents, ""),
        ("Tax", document.tax_cents, ""),
        ("Total", document.gross_cents, "B"),
    ]
    _keep_together(pdf, 7 * len(rows))
    for label, cents, style in rows:
        pdf.set_font(MAIN_FONT, style, 12 if style else 10)
        pdf.set_x(pdf.l_margin + pdf.epw - 80)
        pdf.cell(40, 7, label)
        pdf.cell(40, 7, money(cents, document), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _remarks(pdf: FPDF, document: SalesDocument) -> None:
    pdf.ln(4)
    pdf.set_font(MAIN_FONT, "", 9)
    included = "include" if document.prices_include_tax else "exclude"
    _text(pdf, pdf.epw, f"Prices {included} tax.")
    if document.note:
        pdf.ln(2)
        _keep_together(pdf, 7 + LINE_HEIGHT)  # the title with the first line
        _section(pdf, NOTE_LABELS[document.kind])
        pdf.set_font(MAIN_FONT, "", 9)
        _text(pdf, pdf.epw, document.note)
