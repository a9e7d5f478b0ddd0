-- Failed logins and registrations per client address (issue 13). An address with too many in
-- one window is refused for a while; an account's lock holds only against addresses that are
-- failing, so a stranger's guesses cannot lock the owner out. Times are the store clock's.
CREATE TABLE address_attempts (
    address TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL CHECK (attempts >= 0),
    window_start TEXT NOT NULL,
    blocked_until TEXT
);
