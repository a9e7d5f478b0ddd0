"""One dashboard process for tests that need several: `python -m tests.app_process STORE PORT`.

Like `python app.py`, but the store's clock stands at tests.support.TODAY (a test says which day
it is) and logins are counted against the address a proxy in front appends (CRPM_TRUSTED_PROXY).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from crpm.clock import FixedClock  # noqa: E402
from crpm.config import Settings  # noqa: E402
from crpm.services import open_services  # noqa: E402
from crpm.ui import build_app, launch  # noqa: E402
from tests.support import TODAY  # noqa: E402


def main(store: str, port: str) -> None:
    settings = Settings(db_path=store, port=int(port), trusted_proxy=True)
    services = open_services(store, FixedClock(TODAY), settings=settings)
    launch(build_app(services, settings), settings, quiet=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
