-- The first and last moments of sales and returns in [$date_from, $date_to), cancelled ones
-- included: they only bound the shop's days the engine lays out for a trend (shop_days.sql).
SELECT min(first_at) AS first_at, max(last_at) AS last_at
FROM (
    SELECT min(purchased_at) AS first_at, max(purchased_at) AS last_at
    FROM purchases
    WHERE purchased_at >= $date_from AND purchased_at < $date_to
    UNION ALL
    SELECT min(returned_at), max(returned_at)
    FROM returns
    WHERE returned_at >= $date_from AND returned_at < $date_to
)
