-- Accounts, sessions and the service desk: users, tickets with their history, quotes.
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS'; money is integer cents.

-- A login. Customers log in with their e-mail and are tied to one customer record.
-- Erasing a person deletes their user row; rows that name a user (assignee, author, pricer)
-- fall back to NULL and are shown as "erased user".
CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL COLLATE NOCASE
                         CHECK (length(trim(username)) > 0 AND length(username) <= 254),
    password_hash        TEXT NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'customer')),
    customer_id          INTEGER REFERENCES customers (id) ON DELETE RESTRICT,
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at           TEXT NOT NULL,
    last_login_at        TEXT,
    failed_logins        INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until         TEXT,
    password_changed_at  TEXT NOT NULL,
    -- Bumped whenever access must be re-checked from scratch (password change, deactivation,
    -- role change): sessions remember the version they were opened under.
    credential_version   INTEGER NOT NULL DEFAULT 1 CHECK (credential_version >= 1),
    CHECK ((role = 'customer') = (customer_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_username_unique ON users (username COLLATE NOCASE);
CREATE UNIQUE INDEX users_customer_unique ON users (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX users_role ON users (role, active);

-- Server-side sessions for a login page of our own: only a hash of the cookie token is kept.
CREATE TABLE sessions (
    token_hash          TEXT PRIMARY KEY CHECK (length(token_hash) = 64),
    user_id             INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_version  INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    expires_at          TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE tickets (
    id                 INTEGER PRIMARY KEY,
    customer_id        INTEGER NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    subject            TEXT NOT NULL CHECK (length(trim(subject)) > 0 AND length(subject) <= 200),
    description        TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    category           TEXT NOT NULL DEFAULT 'general' CHECK (category IN
                         ('general', 'order', 'delivery', 'product', 'billing', 'account', 'other')),
    priority           TEXT NOT NULL DEFAULT 'normal'
                       CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status             TEXT NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
    assignee_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_by         INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    status_changed_at  TEXT NOT NULL
);
-- The staff queue: oldest first within any mix of status, priority, assignee and customer.
CREATE INDEX tickets_status_age ON tickets (status, created_at, id);
CREATE INDEX tickets_priority_age ON tickets (priority, status, created_at);
CREATE INDEX tickets_assignee_age ON tickets (assignee_id, status, created_at);
CREATE INDEX tickets_customer_age ON tickets (customer_id, created_at);
CREATE INDEX tickets_age ON tickets (created_at, id);

-- A ticket's history. Internal rows (staff notes, assignments) are never shown to customers.
CREATE TABLE ticket_events (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE RESTRICT,
    kind        TEXT NOT NULL
                CHECK (kind IN ('created', 'comment', 'note', 'status', 'assignment', 'priority')),
    visibility  TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
    body        TEXT NOT NULL DEFAULT '' CHECK (length(body) <= 5000),
    old_value   TEXT,
    new_value   TEXT,
    author_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL,
    CHECK (kind NOT IN ('note', 'assignment') OR visibility = 'internal')
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

-- A quote stays 'priced' after its validity date; every read treats it as expired from then on.
CREATE TABLE quotes (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    request_text  TEXT NOT NULL DEFAULT '' CHECK (length(request_text) <= 5000),
    status        TEXT NOT NULL DEFAULT 'requested'
                  CHECK (status IN ('requested', 'priced', 'accepted', 'rejected', 'expired')),
    valid_until   TEXT,
    message       TEXT NOT NULL DEFAULT '' CHECK (length(message) <= 5000),
    requested_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    priced_by     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    priced_at     TEXT,
    purchase_id   INTEGER UNIQUE REFERENCES purchases (id) ON DELETE RESTRICT,
    decided_at    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK ((status = 'accepted') = (purchase_id IS NOT NULL)),
    CHECK (status IN ('requested', 'rejected') OR (valid_until IS NOT NULL AND priced_at IS NOT NULL))
);
CREATE INDEX quotes_status_age ON quotes (status, created_at, id);
CREATE INDEX quotes_customer_age ON quotes (customer_id, created_at);

CREATE TABLE quote_lines (
    id                INTEGER PRIMARY KEY,
    quote_id          INTEGER NOT NULL REFERENCES quotes (id) ON DELETE RESTRICT,
    product_id        INTEGER NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    quantity          INTEGER NOT NULL CHECK (quantity > 0 AND quantity <= 1000000),
    unit_price_cents  INTEGER CHECK (unit_price_cents IS NULL OR unit_price_cents >= 0),
    UNIQUE (quote_id, product_id)
);
CREATE INDEX quote_lines_product ON quote_lines (product_id);

CREATE INDEX audit_log_actor ON audit_log (actor);
