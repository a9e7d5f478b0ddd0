"""Export cells are made inert for spreadsheets, and the importer restores them exactly."""

from hypothesis import given
from hypothesis import strategies as st

from crpm.csvcells import NUMBER_RE, TRIGGERS, protect, unprotect


@given(st.text())
def test_unprotect_gives_back_what_protect_was_given(text):
    assert unprotect(protect(text)) == text


@given(st.text())
def test_a_protected_cell_never_starts_a_formula(text):
    cell = protect(text)
    assert not cell.startswith(TRIGGERS) or NUMBER_RE.match(cell)


def test_numbers_and_plain_text_are_left_alone():
    assert [protect(value) for value in ("-15.00", "12", "Ann", "", 5, None)] == [
        "-15.00",
        "12",
        "Ann",
        "",
        5,
        None,
    ]
    assert protect("-1e3") == "'-1e3"
    assert protect("'=1") == "''=1"
