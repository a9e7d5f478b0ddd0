-- Core schema: customers, products, purchases, the stock ledger and the audit log.
-- Money is integer cents; times are UTC text 'YYYY-MM-DD HH:MM:SS'.

CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0),
    email       TEXT NOT NULL COLLATE NOCASE,
    phone       TEXT NOT NULL DEFAULT '',
    company     TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',
    city        TEXT NOT NULL DEFAULT '',
    country     TEXT NOT NULL DEFAULT '',
    notes       TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'inactive', 'erased')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX customers_email_unique ON customers (email COLLATE NOCASE);
CREATE INDEX customers_status ON customers (status, id);

CREATE TABLE products (
    id             INTEGER PRIMARY KEY,
    sku            TEXT NOT NULL COLLATE NOCASE CHECK (length(trim(sku)) > 0),
    name           TEXT NOT NULL CHECK (length(trim(name)) > 0),
    category       TEXT NOT NULL DEFAULT '',
    description    TEXT NOT NULL DEFAULT '',
    price_cents    INTEGER NOT NULL CHECK (price_cents >= 0),
    stock          INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    reorder_level  INTEGER NOT NULL DEFAULT 0 CHECK (reorder_level >= 0),
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX products_sku_unique ON products (sku COLLATE NOCASE);
CREATE INDEX products_status ON products (status, id);
CREATE INDEX products_category ON products (category);

CREATE TABLE purchases (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    purchased_at  TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    source        TEXT NOT NULL DEFAULT 'dashboard'
                  CHECK (source IN ('dashboard', 'import', 'quote', 'api', 'cli', 'demo')),
    order_ref     TEXT UNIQUE,
    cancelled_at  TEXT,
    cancelled_by  TEXT,
    cancel_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX purchases_customer ON purchases (customer_id, purchased_at);
CREATE INDEX purchases_time ON purchases (purchased_at);

CREATE TABLE purchase_lines (
    id                INTEGER PRIMARY KEY,
    purchase_id       INTEGER NOT NULL REFERENCES purchases (id) ON DELETE RESTRICT,
    product_id        INTEGER NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    quantity          INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_cents  INTEGER NOT NULL CHECK (unit_price_cents >= 0)
);
CREATE INDEX purchase_lines_purchase ON purchase_lines (purchase_id);
CREATE INDEX purchase_lines_product ON purchase_lines (product_id);

-- A return adds a row; the sold line is never edited.
CREATE TABLE purchase_returns (
    id           INTEGER PRIMARY KEY,
    line_id      INTEGER NOT NULL REFERENCES purchase_lines (id) ON DELETE RESTRICT,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    returned_at  TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX purchase_returns_line ON purchase_returns (line_id);
CREATE INDEX purchase_returns_time ON purchase_returns (returned_at);

-- Every change of stock; products.stock always equals the sum of quantity per product.
CREATE TABLE stock_movements (
    id           INTEGER PRIMARY KEY,
    product_id   INTEGER NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    kind         TEXT NOT NULL CHECK (kind IN
                   ('initial', 'restock', 'sale', 'return', 'cancel', 'adjustment', 'import')),
    quantity     INTEGER NOT NULL CHECK (quantity <> 0),
    stock_after  INTEGER NOT NULL CHECK (stock_after >= 0),
    purchase_id  INTEGER REFERENCES purchases (id) ON DELETE RESTRICT,
    reason       TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL
);
CREATE INDEX stock_movements_product ON stock_movements (product_id, id);
CREATE INDEX stock_movements_time ON stock_movements (created_at);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  INTEGER,
    before     TEXT,
    after      TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
