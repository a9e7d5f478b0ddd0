-- Per product in [$date_from, $date_to), kept as the temp table product_totals for the reports
-- that read it (summary, product_performance), so that a page computes it once: units and cents
-- sold (lines of purchases not cancelled, at purchased_at; sold_lines counts those lines) and
-- returned (at returned_at; returns on a purchase cancelled later left out, its sale is too).
CREATE OR REPLACE TEMP TABLE product_totals AS
SELECT product_id,
       CAST(coalesce(sum(sold_units), 0) AS BIGINT) AS sold_units,
       CAST(coalesce(sum(sold_cents), 0) AS BIGINT) AS sold_cents,
       count(sold_units) AS sold_lines,
       CAST(coalesce(sum(returned_units), 0) AS BIGINT) AS returned_units,
       CAST(coalesce(sum(returned_cents), 0) AS BIGINT) AS returned_cents
FROM (
    SELECT product_id, quantity AS sold_units, net_cents AS sold_cents,
           NULL AS returned_units, NULL AS returned_cents
    FROM sales
    WHERE NOT cancelled AND purchased_at >= $date_from AND purchased_at < $date_to
    UNION ALL
    SELECT product_id, NULL, NULL, quantity, net_cents
    FROM returns
    WHERE NOT cancelled AND returned_at >= $date_from AND returned_at < $date_to
)
GROUP BY product_id
