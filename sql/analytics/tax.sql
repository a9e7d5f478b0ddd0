-- Tax collected per rate in [$date_from, $date_to): sales at purchased_at, returns deducted at
-- returned_at with the share of net, tax and discount they gave back; cancelled purchases and
-- their returns are left out (as for revenue). net is revenue's figure (after discounts, before
-- tax); gross = net + tax. A store with no tax rates has one row, at rate 0.
WITH activity AS (
    SELECT tax_rate, net_cents AS net, tax_cents AS tax, discount_cents AS discount
    FROM sales
    WHERE NOT cancelled AND purchased_at >= $date_from AND purchased_at < $date_to
    UNION ALL
    SELECT tax_rate, -net_cents, -tax_cents, -discount_cents
    FROM returns
    WHERE NOT cancelled AND returned_at >= $date_from AND returned_at < $date_to
)
SELECT tax_rate,
       CAST(sum(net) AS BIGINT) AS net_cents,
       CAST(sum(tax) AS BIGINT) AS tax_cents,
       CAST(sum(net) + sum(tax) AS BIGINT) AS gross_cents,
       CAST(sum(discount) AS BIGINT) AS discount_cents
FROM activity
GROUP BY tax_rate
ORDER BY CAST(tax_rate AS DECIMAL(9, 4))
