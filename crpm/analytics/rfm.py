"""RFM: every buying customer scored 1-5 on recency, frequency and monetary value, and put in a
segment. The measures come from sql/analytics/rfm.sql (the rules are written there); the scoring
is numpy, as it runs on every page over every buying customer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

SEGMENTS = ("champions", "loyal", "new", "promising", "at risk", "lost")
RFM_COLUMNS = [
    "customer_id", "name", "email", "last_purchase", "recency_days", "frequency",
    "monetary_cents", "r_score", "f_score", "m_score", "segment",
]  # fmt: skip


def rfm_tables(
    measures: pd.DataFrame, limit: int | None, names: Callable[[list[int]], pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """The first `limit` customers by revenue (all when None), scored, with their segment, name
    and e-mail (`names` looks those up by customer id), and the totals of every segment."""
    scored, codes = rfm_scores(measures)
    rows = ranked_rows(scored, limit)
    shown = scored.iloc[rows].assign(segment=np.asarray(SEGMENTS)[codes[rows]])
    named = shown.merge(names(shown["customer_id"].tolist()), on="customer_id", how="left")
    return {"customers": named[RFM_COLUMNS], "segments": segment_totals(scored, codes)}


def customer_scores(measures: pd.DataFrame, customer_id: int) -> dict | None:
    """One customer's measures, scores and segment among every buying customer's; None for a
    customer who bought nothing."""
    scored, codes = rfm_scores(measures)
    found = (scored["customer_id"] == customer_id).to_numpy().nonzero()[0]
    if not len(found):
        return None
    row = scored.iloc[found[0]]
    values = {column: row[column] for column in RFM_COLUMNS if column in scored.columns}
    return {**values, "segment": SEGMENTS[codes[found[0]]]}


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """1 + floor(5 x (rank - 1) / n), rank 1 for the smallest value, ties sharing the lowest
    rank: rank - 1 is the number of strictly smaller values."""
    if not len(values):
        return np.zeros(0, dtype="int64")
    return 1 + (5 * count_smaller(values)) // len(values)


def count_smaller(values: np.ndarray) -> np.ndarray:
    """For each value, how many values are strictly smaller. Days and order counts span a few
    thousand values: counted per value in one pass. Money amounts: a binary search of each
    value, in sorted order (timings: bench/NOTES.md, "RFM scores")."""
    lowest = values.min()
    if values.max() - lowest > len(values):
        order = np.argsort(values)
        ordered = values[order]
        smaller = np.empty(len(values), dtype="int64")
        smaller[order] = np.searchsorted(ordered, ordered, side="left")
        return smaller
    offsets = values - lowest
    per_value = np.bincount(offsets)
    return (np.cumsum(per_value) - per_value)[offsets]


def rfm_scores(measures: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Scores per customer and each one's segment as an index into SEGMENTS (rules in
    sql/analytics/rfm.sql); the segment names are written out only for the rows shown."""
    r = quintile_scores(-measures["recency_days"].to_numpy(dtype="int64"))
    f = quintile_scores(measures["frequency"].to_numpy(dtype="int64"))
    m = quintile_scores(measures["monetary_cents"].to_numpy(dtype="int64"))
    codes = np.select(
        [(r >= 4) & (f >= 4) & (m >= 4), (r >= 3) & (f >= 3), r >= 4, r == 3, f >= 3],
        [0, 1, 2, 3, 4],  # the first five of SEGMENTS, in order
        default=5,
    )
    return measures.assign(r_score=r, f_score=f, m_score=m), codes


def ranked_rows(scored: pd.DataFrame, limit: int | None) -> np.ndarray:
    """Positions of the first `limit` rows (all when None) by revenue (highest first), orders
    (most first), then customer id. Sorts only the rows that can make the cut (timings:
    bench/NOTES.md, "Top customers")."""
    money, orders, ids = (
        scored[column].to_numpy(dtype="int64")
        for column in ("monetary_cents", "frequency", "customer_id")
    )
    rows = np.arange(len(money))
    if limit and limit < len(money):
        cut = np.partition(money, len(money) - limit)[len(money) - limit]  # the limit-th highest
        rows = np.flatnonzero(money >= cut)
    order = rows[np.lexsort((ids[rows], -orders[rows], -money[rows]))]
    return order[:limit] if limit else order


def segment_totals(scored: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
    """Customers and revenue per segment, every segment listed (numpy, not a pandas group-by:
    this runs on every page over every buying customer)."""
    counts = np.bincount(codes, minlength=len(SEGMENTS))
    revenue = np.zeros(len(SEGMENTS), dtype="int64")
    np.add.at(revenue, codes, scored["monetary_cents"].to_numpy(dtype="int64"))
    return pd.DataFrame(
        {"segment": list(SEGMENTS), "customers": counts.astype("int64"), "revenue_cents": revenue}
    )
