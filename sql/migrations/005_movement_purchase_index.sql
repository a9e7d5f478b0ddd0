-- Movements of a purchase (its sale, return and cancel rows) are looked up by purchase, and a
-- foreign key check on any purchase change scanned all of stock_movements without this index.
CREATE INDEX stock_movements_purchase ON stock_movements (purchase_id);
