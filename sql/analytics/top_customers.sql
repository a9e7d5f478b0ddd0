-- Customers ranked by revenue in [$date_from, $date_to), ties by orders (more first), then
-- customer id (lower first), at most $limit, from customer_totals (customer_totals.sql: sales at
-- purchased_at, returns at returned_at, cancelled purchases and their returns left out; a
-- customer whose only activity in the range is a return is listed too, with no orders).
-- first/last_purchase are within the range. Names are joined after the top-N cut.
WITH ranked AS (
    SELECT customer_id, orders, units, revenue_cents, first_purchase, last_purchase
    FROM customer_totals
    ORDER BY revenue_cents DESC, orders DESC, customer_id
    LIMIT $limit
)
SELECT r.customer_id, c.name, c.email, r.orders, r.units, r.revenue_cents,
       r.first_purchase, r.last_purchase
FROM ranked r
JOIN customers c ON c.id = r.customer_id
ORDER BY r.revenue_cents DESC, r.orders DESC, r.customer_id
