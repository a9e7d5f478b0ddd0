"""The published API: every named endpoint is documented in the README and driven by a test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.api

ROOT = Path(__file__).resolve().parents[2]


def named_endpoints(app) -> set[str]:
    info = app.client.view_api(print_info=False, return_format="dict")
    return {name.lstrip("/") for name in info["named_endpoints"]}


def readme_endpoints() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## API", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `/(\w+)`", section, flags=re.M))


def test_every_endpoint_is_in_the_readme_and_nothing_else(app):
    assert named_endpoints(app) == readme_endpoints()


def test_every_endpoint_is_called_by_an_api_test(app):
    sources = "".join(path.read_text() for path in Path(__file__).parent.glob("test_api_*.py"))
    called = re.findall(r'"/?(\w+)"', sources)  # call("name", ...) or api_name="/name"
    untested = named_endpoints(app) - set(called)
    assert untested == set()


def test_plumbing_events_are_not_published(app):
    assert not {
        name for name in named_endpoints(app) if re.search(r"_\d+$|lambda|pick_user_row", name)
    }
