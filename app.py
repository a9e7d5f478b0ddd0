"""Entry point: parse flags, open the store, build the UI, launch.

Also what a Hugging Face Space runs (app_file: app.py); set CRPM_DEMO=1 there for demo data.
"""

from __future__ import annotations

from crpm.config import app_settings
from crpm.db import shown_location
from crpm.errors import Conflict
from crpm.services import open_services
from crpm.ui import build_app, launch

DEMO_SIZE = {"customers": 300, "products": 100, "purchases": 5000}


def fill_demo_data(services) -> None:
    """Fill an empty store with demo data; a store that already has records is left alone."""
    from crpm.demo import generate

    try:
        counts = generate(services.store, seed=1, **DEMO_SIZE)
    except Conflict:  # the demo only fills an empty store
        print("CRPM: the store already has data; --demo adds nothing")
        return
    print(f"CRPM: demo data added: {counts}")


def ensure_first_admin(services, password: str | None) -> None:
    """First run: create the `admin` login with `password` (CRPM_ADMIN_PASSWORD), or with a
    generated password shown here once (it is stored only as a hash)."""
    generated = services.accounts.ensure_admin(password, source="CRPM_ADMIN_PASSWORD")
    if generated:
        print(
            "CRPM: first run: created the administrator login 'admin' with the password "
            f"{generated}\nCRPM: it is shown only this once; log in and change it under My account."
        )


def main(argv: list[str] | None = None) -> None:
    settings = app_settings(argv)
    services = open_services(settings.db_path, settings=settings)
    print(f"CRPM: store {shown_location(settings.db_path)}")
    if settings.demo:
        fill_demo_data(services)
    ensure_first_admin(services, settings.admin_password)
    demo = build_app(services, settings)
    launch(demo, settings)


if __name__ == "__main__":
    main()
