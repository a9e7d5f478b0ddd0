"""The audit log's Change column: the stored before/after JSON in words."""

from crpm.ui.admin import audit_change


def test_a_change_reads_old_to_new_field_by_field():
    before = '{"name": "Ann", "phone": null}'
    after = '{"name": "Anna", "phone": "555 0100"}'
    assert audit_change(before, after) == "name: Ann → Anna; phone: (empty) → 555 0100"


def test_a_record_made_shows_its_values_and_one_removed_what_it_was():
    assert audit_change(None, '{"username": "temp.helper", "role": "staff"}') == (
        "role: staff; username: temp.helper"
    )
    assert audit_change('{"email": "a@example.com"}', None) == "email was a@example.com"


def test_no_fields_and_text_that_is_not_an_object():
    assert audit_change(None, None) == ""
    assert audit_change(None, '"erased"') == "value: erased"
    assert audit_change(None, "not json") == "value: not json"
