-- Per customer in [$date_from, $date_to), kept as the temp table customer_totals for the reports
-- that read it (summary, top_customers, rfm), so that a page computes it once:
--   orders, first_purchase, last_purchase  purchases not cancelled, at purchased_at
--   units, revenue_cents  sales at purchased_at minus returns at returned_at, cancelled
--                         purchases and their returns left out
-- Sales come from the purchases' line totals (units, cents: the sums of quantity and of the
-- net (after discounts, before tax) of each purchase's lines, kept by the engine), one row per
-- purchase.
-- A customer whose only activity in the range is a return has a row too (no orders, negative
-- revenue), so that the revenue of all rows adds up to the summary's revenue.
CREATE OR REPLACE TEMP TABLE customer_totals AS
WITH orders AS (
    SELECT customer_id, count(*) AS orders,
           min(purchased_at) AS first_purchase, max(purchased_at) AS last_purchase,
           sum(units) AS units, sum(cents) AS cents
    FROM purchases
    WHERE cancelled_at IS NULL AND purchased_at >= $date_from AND purchased_at < $date_to
    GROUP BY customer_id
), returned AS (
    SELECT customer_id, sum(quantity) AS units, sum(net_cents) AS cents
    FROM returns
    WHERE NOT cancelled AND returned_at >= $date_from AND returned_at < $date_to
    GROUP BY customer_id
)
SELECT coalesce(o.customer_id, r.customer_id) AS customer_id,
       coalesce(o.orders, 0) AS orders, o.first_purchase, o.last_purchase,
       CAST(coalesce(o.units, 0) - coalesce(r.units, 0) AS BIGINT) AS units,
       CAST(coalesce(o.cents, 0) - coalesce(r.cents, 0) AS BIGINT) AS revenue_cents
FROM orders o
FULL JOIN returned r ON r.customer_id = o.customer_id
