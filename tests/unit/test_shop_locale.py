"""Numbers and money in the shop's locale, and the shop's zone and locale settings."""

from __future__ import annotations

import pytest

from crpm.errors import PermissionDenied, ValidationError
from crpm.models import format_money, parse_money
from crpm.services.taxes import read_settings
from crpm.shoplocale import check_locale, check_zone, money_text, read_amount
from tests.support import STAFF


def test_a_decimal_comma_is_read_in_a_german_shop():
    assert parse_money("4,95", "price", "de_DE") == 495
    assert parse_money("1.234,50", "price", "de_DE") == 123450
    assert parse_money("1234,5", "price", "de") == 123450


def test_the_plain_form_is_read_in_every_locale():
    # "12.50" cannot be German grouping (a group has three digits): it is the plain amount
    assert parse_money("12.50", "price", "de_DE") == 1250
    assert parse_money("12.50") == 1250
    assert parse_money("1,234.50", "price", "en_US") == 123450


def test_a_decimal_comma_is_refused_where_the_locale_does_not_use_it():
    with pytest.raises(ValidationError, match=r"'4,95' is not an amount like 12\.50"):
        parse_money("4,95", "price", "en_US")
    with pytest.raises(ValidationError, match="'4,95' is not an amount"):
        parse_money("4,95")  # no locale: the plain form only (imports, the CLI)


def test_a_german_amount_keeps_the_money_rules():
    with pytest.raises(ValidationError, match=r"'4,955' is not an amount like 12,50"):
        parse_money("4,955", "price", "de_DE")
    with pytest.raises(ValidationError, match="must not be negative"):
        parse_money("-4,95", "price", "de_DE")
    assert read_amount("4,9,5", "de_DE") is None


def test_money_is_written_the_locale_way_by_babel():
    assert format_money(123450, "$") == "$1,234.50"
    assert format_money(-123450, "$") == "-$1,234.50"
    assert format_money(123450, "€", locale="de_DE") == "1.234,50\xa0€"
    assert format_money(123456789, "", locale="de_DE") == "1.234.567,89"
    assert money_text(5, "€", "fr_FR") == "0,05\xa0€"


def test_machine_money_stays_plain_in_every_locale():
    assert format_money(123450, grouped=False) == "1234.50"
    assert format_money(-5, grouped=False) == "-0.05"


def test_zone_and_locale_names_are_checked():
    assert check_zone("Australia/Sydney") == "Australia/Sydney"
    assert check_locale("de-DE") == "de_DE"
    assert check_locale("fr") == "fr"
    with pytest.raises(ValidationError, match="time_zone: 'Mars/Olympus' is not a time zone"):
        check_zone("Mars/Olympus")
    with pytest.raises(ValidationError, match="'xx_YY' is not a locale"):
        check_locale("xx_YY")


def test_the_shop_defaults_to_the_servers_zone_and_en_us(services):
    settings = read_settings(services.store.conn)
    assert (settings.time_zone, settings.locale) == ("UTC", "en_US")  # conftest sets TZ=UTC


def test_an_admin_sets_the_shops_zone_and_locale(services, actor):
    saved = services.taxes.update_settings(actor, time_zone="Australia/Sydney", locale="de-DE")
    assert (saved.time_zone, saved.locale) == ("Australia/Sydney", "de_DE")
    assert services.taxes.shop_locale("€").money(123450) == "1.234,50\xa0€"
    audited = services.store.query_one(
        "SELECT after FROM audit_log WHERE entity = 'shop_settings' ORDER BY id DESC LIMIT 1"
    )
    assert '"time_zone": "Australia/Sydney"' in audited["after"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"time_zone": "Europe/Atlantis"}, "time zone: 'Europe/Atlantis' is not a time zone"),
        ({"time_zone": ""}, "time zone: '' is not a time zone"),
        ({"locale": "klingon"}, "locale: 'klingon' is not a locale"),
    ],
)
def test_an_unknown_zone_or_locale_is_refused_and_nothing_changes(
    services, actor, refused, change, message
):
    with refused(ValidationError, match=message):
        services.taxes.update_settings(actor, **change)


def test_staff_do_not_change_the_shops_zone(services, refused):
    with refused(PermissionDenied):
        services.taxes.update_settings(STAFF, time_zone="Australia/Sydney")
