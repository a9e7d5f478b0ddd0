-- Portal invitations (issue 14): staff invite a customer who has no login yet, and the customer
-- sets a password through a one-time link. Only the SHA-256 of the link's token is kept. An
-- invitation is open until it is used (used_at) or it expires (expires_at, store clock); a new
-- one replaces the customer's open one (the old row is deleted), so a customer has at most one.
-- Erasing the customer deletes their invitations.
CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    token_hash   TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL CHECK (expires_at > created_at),
    used_at      TEXT,
    -- the login the invitation made; NULL while open, and again once that login is erased
    user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    CHECK (used_at IS NOT NULL OR user_id IS NULL)
);
CREATE UNIQUE INDEX invitations_one_open ON invitations (customer_id) WHERE used_at IS NULL;
