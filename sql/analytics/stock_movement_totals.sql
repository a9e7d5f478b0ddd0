-- Stock movements with created_at in [$date_from, $date_to), counted and summed per kind.
SELECT kind, count(*) AS movements, CAST(sum(quantity) AS BIGINT) AS quantity
FROM movements
WHERE created_at >= $date_from AND created_at < $date_to
GROUP BY kind
ORDER BY kind
