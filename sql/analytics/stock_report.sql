-- Stock per product (every product, with its status), as it stands now:
--   units_30d      net units sold in [$recent_from, $recent_to) (the last 30 days up to now):
--                  units on lines of purchases not cancelled minus units returned in that window
--   days_of_cover  stock / (units_30d / 30), one decimal; NULL when nothing sold in 30 days
--   low_stock      stock <= reorder level;  stock_value_cents  stock x current price
-- Ordered low stock first, then shortest cover, then product id.
WITH recent AS (
    SELECT product_id, sum(units) AS units
    FROM (
        SELECT product_id, quantity AS units
        FROM sales
        WHERE NOT cancelled AND purchased_at >= $recent_from AND purchased_at < $recent_to
        UNION ALL
        SELECT product_id, -quantity
        FROM returns
        WHERE NOT cancelled AND returned_at >= $recent_from AND returned_at < $recent_to
    )
    GROUP BY product_id
)
SELECT p.id AS product_id, p.sku, p.name, p.category, p.status, p.stock, p.reorder_level,
       CAST(coalesce(r.units, 0) AS BIGINT) AS units_30d,
       CASE WHEN r.units > 0 THEN round(p.stock * 30.0 / r.units, 1) END AS days_of_cover,
       p.stock <= p.reorder_level AS low_stock,
       CAST(p.stock * p.price_cents AS BIGINT) AS stock_value_cents
FROM products p
LEFT JOIN recent r ON r.product_id = p.id
ORDER BY low_stock DESC, days_of_cover ASC NULLS LAST, product_id
