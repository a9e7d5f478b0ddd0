"""The PostgreSQL engine's driver contract: sqlite3's parameter marks, rows like sqlite3.Row."""

from __future__ import annotations

import gc
import threading

import pytest

from crpm.db import open_store
from crpm.pgstore import POOL_MAX, Row, driver_params, driver_sql

MARKS = {
    "qmark": ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
    "named": ("UPDATE t SET a = :a WHERE id = :id", "UPDATE t SET a = %(a)s WHERE id = %(id)s"),
    "quoted text kept": ("SELECT 'a?b:c' WHERE x = ?", "SELECT 'a?b:c' WHERE x = %s"),
    "percent doubled": (
        "SELECT 1 WHERE a LIKE '%x' AND b = ?",
        "SELECT 1 WHERE a LIKE '%%x' AND b = %s",
    ),
    "cast kept": ("SELECT :v::integer", "SELECT %(v)s::integer"),
    "quoted name kept": ('SELECT "a:b" FROM t WHERE c = :c', 'SELECT "a:b" FROM t WHERE c = %(c)s'),
    "comment kept": ("SELECT ? -- why? :x 5%", "SELECT %s -- why? :x 5%%"),
    "functions untouched": (
        "SELECT coalesce(max(v), 0), lower(e) FROM t WHERE d < :d",
        "SELECT coalesce(max(v), 0), lower(e) FROM t WHERE d < %(d)s",
    ),
}


@pytest.mark.parametrize(("sql", "expected"), MARKS.values(), ids=MARKS.keys())
def test_only_the_parameter_marks_change(sql, expected):
    assert driver_sql(sql)[0] == expected


def test_numbered_marks_take_their_parameters_wherever_they_stand():
    sql, order = driver_sql("UPDATE p SET s = s + ?1 WHERE id = ?2 AND s + ?1 >= 0 AND x = ?")
    assert sql == "UPDATE p SET s = s + %s WHERE id = %s AND s + %s >= 0 AND x = %s"
    assert driver_params(order, (5, 7, 9)) == [5, 7, 5, 9]
    in_order = driver_sql("SELECT ?, ?")[1]
    assert driver_params(in_order, ("a", "b")) == ("a", "b")
    assert driver_params(in_order, {"a": 1}) == {"a": 1}


def test_a_row_reads_like_a_sqlite_row():
    row = Row((7, "Ann"), {"id": 0, "name": 1})
    assert (row[0], row["name"], row[-1], tuple(row)) == (7, "Ann", "Ann", (7, "Ann"))
    assert row.keys() == ["id", "name"] and dict(row) == {"id": 7, "name": "Ann"}
    assert row == (7, "Ann")
    with pytest.raises(KeyError):
        row["email"]


def test_a_finished_threads_connection_goes_back_to_the_pool(pg_url):
    """Gradio's worker threads come and go: three times the pool's size of short-lived threads,
    each reading once, never run the pool dry (each waited 30 s, then failed, before)."""
    store = open_store(pg_url)
    counted = []

    def read_once():
        counted.append(store.query_one("SELECT count(*) FROM customers")[0])

    try:
        for _ in range(3 * POOL_MAX // 16):
            batch = [threading.Thread(target=read_once) for _ in range(16)]
            for thread in batch:
                thread.start()
            for thread in batch:
                thread.join(timeout=60)
            gc.collect()
            assert len(store._connections) <= 1  # this thread's, if it read
        assert counted == [0] * (3 * POOL_MAX // 16 * 16)
        assert store._pool.get_stats()["pool_size"] <= 17
    finally:
        store.close()
