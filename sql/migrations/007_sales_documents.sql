-- Real sales: tax rates, discounts, and the figures every line keeps as sold; invoices and credit
-- notes numbered from gap-free sequences per year. Past lines migrate at rate zero and no
-- discount (net = gross = quantity x unit price, tax 0), so every report stays as it was.

CREATE TABLE tax_rates (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) BETWEEN 1 AND 100),
    percent     TEXT NOT NULL,  -- exact decimal text ('20', '5.5'); never changes once created
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at  TEXT NOT NULL
);

-- The shop's own details and sales rules (name, address, tax number, payment note,
-- prices_include_tax, default_tax_rate_id): one row per setting.
CREATE TABLE shop_settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- NULL: the shop's default rate.
ALTER TABLE products ADD COLUMN tax_rate_id INTEGER REFERENCES tax_rates (id) ON DELETE RESTRICT;

-- As sold: whether the prices included tax (a purchase-level discount lives in its lines'
-- discount_cents, each line holding its share).
ALTER TABLE purchases ADD COLUMN prices_include_tax INTEGER NOT NULL DEFAULT 0
    CHECK (prices_include_tax IN (0, 1));

-- A line keeps its discount (own plus its share of the purchase's), rate, net and tax; gross is
-- net + tax. Before tax, quantity x unit price - discount is the net (prices without tax) or the
-- gross (prices with tax).
ALTER TABLE purchase_lines ADD COLUMN discount_cents INTEGER NOT NULL DEFAULT 0
    CHECK (discount_cents >= 0);
ALTER TABLE purchase_lines ADD COLUMN tax_rate TEXT NOT NULL DEFAULT '0';
ALTER TABLE purchase_lines ADD COLUMN net_cents INTEGER NOT NULL DEFAULT 0 CHECK (net_cents >= 0);
UPDATE purchase_lines SET net_cents = quantity * unit_price_cents;
-- Added last: SQLite checks existing rows against it.
ALTER TABLE purchase_lines ADD COLUMN tax_cents INTEGER NOT NULL DEFAULT 0
    CHECK (tax_cents >= 0 AND quantity * unit_price_cents - discount_cents
                              IN (net_cents, net_cents + tax_cents));

-- A return keeps the share of its line it gave back (design: cumulative rounding).
ALTER TABLE purchase_returns ADD COLUMN discount_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE purchase_returns ADD COLUMN net_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE purchase_returns ADD COLUMN tax_cents INTEGER NOT NULL DEFAULT 0;
UPDATE purchase_returns
SET net_cents = quantity * (SELECT l.unit_price_cents FROM purchase_lines l WHERE l.id = line_id);

-- A quote's discount off its whole total ("10%" or "5.00"; empty: none), carried into the
-- purchase when it is accepted.
ALTER TABLE quotes ADD COLUMN discount TEXT NOT NULL DEFAULT '';

-- The last number taken per kind and year; taken inside the sale's own write transaction, so a
-- sale that fails takes none and no number is skipped.
CREATE TABLE document_sequences (
    kind  TEXT NOT NULL CHECK (kind IN ('INV', 'CN')),
    year  INTEGER NOT NULL,
    last  INTEGER NOT NULL CHECK (last >= 0),
    PRIMARY KEY (kind, year)
);

-- Issued once, never changed (erasure alone replaces the customer's details with the
-- anonymised ones). shop and customer are the details printed, as JSON, as they were at issue.
CREATE TABLE invoices (
    id                  INTEGER PRIMARY KEY,
    number              TEXT NOT NULL UNIQUE,
    purchase_id         INTEGER NOT NULL UNIQUE REFERENCES purchases (id) ON DELETE RESTRICT,
    issued_at           TEXT NOT NULL,
    shop                TEXT NOT NULL,
    customer            TEXT NOT NULL,
    note                TEXT NOT NULL DEFAULT ''
);

CREATE TABLE credit_notes (
    id          INTEGER PRIMARY KEY,
    number      TEXT NOT NULL UNIQUE,
    invoice_id  INTEGER NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    kind        TEXT NOT NULL CHECK (kind IN ('cancel', 'return')),
    issued_at   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id);

CREATE TABLE credit_note_lines (
    id              INTEGER PRIMARY KEY,
    credit_note_id  INTEGER NOT NULL REFERENCES credit_notes (id) ON DELETE RESTRICT,
    line_id         INTEGER NOT NULL REFERENCES purchase_lines (id) ON DELETE RESTRICT,
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    discount_cents  INTEGER NOT NULL,
    net_cents       INTEGER NOT NULL,
    tax_cents       INTEGER NOT NULL
);
CREATE INDEX credit_note_lines_note ON credit_note_lines (credit_note_id);
