"""Backups of a live store, and restores that check the file before replacing the store."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from crpm import demo
from crpm.__main__ import main
from crpm.analytics.mirrorfile import EPOCH_KEY
from crpm.db import Store
from crpm.errors import PermissionDenied, ValidationError
from crpm.permissions import SYSTEM
from crpm.services import open_services
from crpm.services.backup import BackupService, inspect
from tests.support import STAFF, assert_invariants, cli_demo_data, store_snapshot


def test_backup_while_purchases_are_recorded_holds_every_earlier_purchase(
    services, actor, shop, tmp_path
):
    customer = shop.customer()
    product = shop.product(stock=100_000)
    committed: list[int] = []
    stop = threading.Event()

    def sell():
        while not stop.is_set():
            committed.append(services.purchases.record(actor, customer.id, [(product.id, 1)]).id)

    seller = threading.Thread(target=sell)
    seller.start()
    try:
        while len(committed) < 30:
            stop.wait(0.01)
        before = list(committed)  # each of these returned, so it was committed
        result = services.backups.backup(actor, tmp_path / "live.db")
        while len(committed) < len(before) + 30:  # the seller kept going during the backup
            stop.wait(0.01)
    finally:
        stop.set()
        seller.join()
    target = tmp_path / "restored.db"
    BackupService(Store(target)).restore(actor, tmp_path / "live.db")
    restored = open_services(target)
    try:
        assert_invariants(restored.store)
        ids = {row[0] for row in restored.store.query("SELECT id FROM purchases")}
        assert set(before) <= ids <= set(committed)
        assert result["purchases"] == len(ids)
    finally:
        restored.store.close()


def test_restore_replaces_the_store_and_removes_its_stale_wal(services, shop, actor, tmp_path):
    demo.generate(services.store, 10, 5, 50)
    services.backups.backup(actor, tmp_path / "b.db")
    wanted = without_epoch(store_snapshot(services.store))
    target = tmp_path / "other.db"
    other = open_services(target)
    other.customers.add(shop.actor, "Someone", email="someone@example.com")
    other.store.close()
    (tmp_path / "other.db-wal").write_bytes(b"stale")
    BackupService(Store(target)).restore(actor, tmp_path / "b.db")
    assert (
        not (tmp_path / "other.db-wal").exists()
        or (tmp_path / "other.db-wal").read_bytes() != b"stale"
    )
    again = open_services(target)
    try:
        assert without_epoch(store_snapshot(again.store)) == wanted
    finally:
        again.store.close()


def without_epoch(snapshot: dict) -> dict:
    """A store's rows but the analytics mirrors' epoch, which a backup and a restore renew
    (crpm/analytics/mirrorfile.py): no copy of the store as it was is caught up from."""
    settings = [row for row in snapshot["shop_settings"] if row[0] != EPOCH_KEY]
    return {**snapshot, "shop_settings": settings}


def corrupt(path):
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 2 : page * 4] = b"\x5a" * (page * 2)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["not sqlite", "corrupt", "foreign", "newer schema"])
def test_restore_refuses_a_bad_file_and_leaves_the_store(services, actor, tmp_path, damage):
    demo.generate(services.store, 200, 50, 2000)
    source = tmp_path / "bad.db"
    if damage == "not sqlite":
        source.write_text("name,email\n")
    elif damage == "foreign":
        sqlite3.connect(source).execute("CREATE TABLE notes (body TEXT)").connection.close()
    else:
        services.backups.backup(actor, source)
        if damage == "corrupt":
            corrupt(source)
        else:
            conn = sqlite3.connect(source)
            conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01')")
            conn.commit()
            conn.close()
    before = store_snapshot(services.store)
    with pytest.raises(ValidationError, match="file"):
        services.backups.restore(actor, source)
    assert store_snapshot(services.store) == before


def test_inspect_reports_version_and_counts(services, actor, tmp_path):
    demo.generate(services.store, 10, 5, 50)
    services.backups.backup(actor, tmp_path / "b.db")
    info = inspect(tmp_path / "b.db")
    assert info["customers"] == 10 and info["products"] == 5 and info["schema_version"] >= 1


def test_only_admins_back_up_or_restore(services, tmp_path):
    with pytest.raises(PermissionDenied):
        services.backups.backup(STAFF, tmp_path / "b.db")
    with pytest.raises(PermissionDenied):
        services.backups.restore(STAFF, tmp_path / "b.db")
    assert not (tmp_path / "b.db").exists()


def test_cli_backup_and_restore(db_path, tmp_path, capsys):
    assert cli_demo_data(db_path, customers=4, products=2, purchases=10) == 0
    assert main(["--db", str(db_path), "backup", str(tmp_path / "b.db")]) == 0
    assert "4 customers" in capsys.readouterr().out
    assert main(["--db", str(tmp_path / "new.db"), "restore", str(tmp_path / "b.db")]) == 0
    assert main(["--db", str(tmp_path / "new.db"), "restore", str(tmp_path / "nope.db")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_postgresql_store_is_backed_up_with_its_own_tools(pg_url, tmp_path, capsys):
    services = open_services(pg_url)
    with pytest.raises(ValidationError, match="pg_dump --format=custom"):
        services.backups.backup(SYSTEM, tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()
    services.store.close()
    assert main(["--db", pg_url, "backup", str(tmp_path / "copy.db")]) == 2
    assert "pg_restore --clean" in capsys.readouterr().err
