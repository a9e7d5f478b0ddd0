-- Stock movements with created_at in [$date_from, $date_to), newest first, at most $limit rows,
-- with the product's SKU and name (joined after the top-N cut, so only $limit rows are joined).
-- The copy keeps only what ranking and totals need; the engine adds stock_after, purchase_id,
-- reason and created_by of these rows from the store (ledger rows are never edited).
WITH newest AS (
    SELECT id, created_at, product_id, kind, quantity
    FROM movements
    WHERE created_at >= $date_from AND created_at < $date_to
    ORDER BY id DESC
    LIMIT $limit
)
SELECT m.id AS movement_id, m.created_at, m.product_id, p.sku, p.name, m.kind, m.quantity
FROM newest m
JOIN products p ON p.id = m.product_id
ORDER BY m.id DESC
