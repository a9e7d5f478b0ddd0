-- The analytics mirror's exact sync on PostgreSQL (crpm/analytics/pgmirror.py) rests on one
-- rule: a transaction has its transaction id BEFORE it draws an id from the sequence of a table
-- the mirror reads. Left alone, PostgreSQL draws the id (the column default) and only then
-- assigns the transaction id, at the row's insert. A BEFORE STATEMENT trigger runs before the
-- statement computes any row, so assigning the id there puts it first, for every writer.
-- SQLite needs nothing: it has one writer at a time and ids are visible in commit order.

CREATE FUNCTION analytics_xid_first() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_current_xact_id();
    RETURN NULL;
END
$$;

-- Every table the mirror reads by id (crpm/analytics/mirror.py MIRRORED, analytics_changes).
DO $$
DECLARE
    mirrored text;
BEGIN
    FOREACH mirrored IN ARRAY ARRAY['customers', 'products', 'purchases', 'purchase_lines',
                                    'purchase_returns', 'stock_movements', 'analytics_changes']
    LOOP
        EXECUTE format('CREATE TRIGGER analytics_xid_first BEFORE INSERT ON %I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION analytics_xid_first()', mirrored);
    END LOOP;
END
$$;
