"""Hostile input from the outside security test (issue 13): odd digits, huge CSV headers and
fields, years outside the calendar the store can compare, report ranges without end."""

from __future__ import annotations

import pytest

from crpm.errors import NotFound, ValidationError
from crpm.ui.common import optional_id

# --- ids are ASCII digits only ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["²", "１", "#１", "٣", "1²"])
def test_an_id_box_takes_only_ascii_digits(text):
    with pytest.raises(ValidationError, match="ticket: .* is not an ID"):
        optional_id(text, "ticket")


def test_a_user_key_of_unicode_digits_is_a_name_not_an_id(services, people):
    accounts = services.accounts
    assert accounts.get_user(people.admin, "1").username == "admin"
    for text in ("²", "１"):
        with pytest.raises(NotFound):
            accounts.get_user(people.admin, text)
    with pytest.raises(NotFound):
        services.desk._user_id("１", "assignee")
