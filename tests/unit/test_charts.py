"""Charts: valid Vega-Lite specs of a fixed width, money formatted, whole-number count axes
from zero, no negative units, a message instead of empty axes, and the Vega-Lite version the
installed Gradio draws with."""

from __future__ import annotations

import json
import re
from pathlib import Path

import gradio
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crpm import charts
from crpm.analytics import Analytics
from crpm.analytics.periods import preset_range
from crpm.permissions import SYSTEM
from crpm.shoplocale import ShopLocale, chart_number_locale
from crpm.ui import charts as page_charts
from crpm.ui.analytics_tables import CHARTS, TABLES, pick
from tests.support import TODAY

LAST_7_DAYS = preset_range("Last 7 days", pd.Timestamp(TODAY).date())


@pytest.fixture
def engine(services):
    engine = Analytics(services.store)
    yield engine
    engine.close()


@pytest.fixture
def page(services, engine):
    a = SYSTEM
    ann = services.customers.add(a, "Ann", "ann@example.com").id
    tea = services.products.add(a, "TEA", "Tea", "12.34", 50, category="drinks").id
    services.purchases.record(a, ann, [(tea, 3)], purchased_at="2024-03-01")
    return engine.page(SYSTEM)


@pytest.fixture
def week_with_a_return(services, engine):
    """The last 7 days: one mug sold, one tea (bought long ago) brought back, a lamp idle."""
    a = SYSTEM
    ann = services.customers.add(a, "Ann", "ann@example.com").id
    tea = services.products.add(a, "TEA", "Tea", "12.34", 50).id
    mug = services.products.add(a, "MUG", "Mug", "5.00", 50).id
    services.products.add(a, "LAMP", "Lamp", "30.00", 5)
    old = services.purchases.record(a, ann, [(tea, 2)], purchased_at="2024-03-01")
    services.purchases.record(a, ann, [(mug, 1)], purchased_at="2026-06-14 09:00:00")
    services.purchases.return_items(a, old.lines[0].id, 1)  # returned today: in the range
    return engine.page(SYSTEM, *LAST_7_DAYS)


def every_chart(page):
    return [charts_for(page, name) for name in CHARTS]


def charts_for(page, name):
    return page_charts.CHART_FOR[name](pick(page, TABLES[name][1]))


def views(spec: dict) -> list[dict]:
    """The spec and its layers: where encodings live."""
    return [spec, *spec.get("layer", [])]


def rows(spec: dict) -> list[dict]:
    return next(iter(spec["datasets"].values()))


def units_axes(spec: dict) -> list[dict]:
    return [
        view["encoding"][channel]
        for view in views(spec)
        for channel in ("x", "y")
        if view.get("encoding", {}).get(channel, {}).get("field") in ("units", "customers")
    ]


def test_charts_have_fixed_width_titles_money_format_and_tooltips(page):
    for chart in every_chart(page):
        spec = chart.to_dict()
        assert spec["width"] == charts.WIDTH and spec["title"]
        assert spec["encoding"]["tooltip"]
        assert ",.2f" in json.dumps(spec["encoding"])
        assert rows(spec)  # the rows are inline: nothing to fetch
    trend = charts.revenue_trend(page["trend"]).to_dict()
    assert rows(trend)[0]["revenue"] == 37.02


@given(st.integers(min_value=-5, max_value=10**9))
def test_whole_ticks_are_few_whole_numbers_from_zero_past_the_largest(largest):
    ticks = charts.whole_ticks(largest)
    assert ticks[0] == 0 and ticks[-1] >= max(largest, 1)
    assert all(isinstance(tick, int) for tick in ticks)
    assert 2 <= len(ticks) <= charts.MOST_TICKS + 1
    steps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1 and re.fullmatch(r"[125]0*", str(steps.pop()))


@pytest.mark.parametrize("largest, expected", [(0, [0, 1]), (1, [0, 1]), (3, [0, 1, 2, 3])])
def test_a_short_units_axis_reads_each_whole_number_once(largest, expected):
    # Vega's own ticks for 0..1 are 0, 0.05 ... 1, printed "0 0 0 ... 1 1 1" as whole numbers.
    assert charts.whole_ticks(largest) == expected


@pytest.mark.parametrize("shop", ["page", "week_with_a_return"])
def test_units_axes_show_whole_numbers_from_zero(request, shop):
    result = request.getfixturevalue(shop)
    for name in ("best_sellers", "least_sellers", "segments"):
        (axis, *_) = units_axes(charts_for(result, name).to_dict())
        ticks = axis["axis"]["values"]
        assert axis["axis"]["format"] == ",d" and axis["scale"]["domain"] == [0, ticks[-1]]
        assert all(isinstance(tick, int) for tick in ticks) and ticks[0] == 0


def test_least_sellers_draw_no_negative_units_and_zero_sellers_at_zero(week_with_a_return):
    least = week_with_a_return["products"]["least"]
    assert least.set_index("sku").loc["TEA", "units_sold"] == -1  # the engine's net units
    spec = charts.least_sellers(least).to_dict()
    drawn = {row["sku"]: row["units"] for row in rows(spec)}
    assert drawn == {"TEA": 0, "LAMP": 0, "MUG": 1}
    figures = [view for view in views(spec) if view.get("mark", {}).get("type") == "text"]
    assert figures[0]["encoding"]["text"]["field"] == "units"  # "0" written by the zero bars


def test_bars_of_the_same_name_stay_apart():
    labels = charts.distinct_labels(
        pd.Series(["Mia", "Mia", "Ann"]), pd.Series(["a@x", "b@x", "c"])
    )
    assert labels.tolist() == ["Mia (a@x)", "Mia (b@x)", "Ann"]


def test_a_day_trend_labels_the_days_not_the_hours_between(week_with_a_return):
    trend = week_with_a_return["trend"]
    axis = charts.revenue_trend(trend).to_dict()["encoding"]["x"]["axis"]
    assert axis["format"] == "%b %d"
    assert [value["date"] for value in axis["values"]] == list(range(9, 16))


def test_a_range_with_no_sales_says_so_instead_of_empty_axes(services, engine):
    services.products.add(SYSTEM, "LAMP", "Lamp", "30.00", 5)  # least sellers still list it
    result = engine.page(SYSTEM, *LAST_7_DAYS)
    for name in CHARTS:
        plot = page_charts.draw(name, pick(result, TABLES[name][1]), sold=False)
        spec = json.loads(plot.plot)
        assert spec["mark"]["type"] == "text" and "encoding" in spec
        assert rows(spec) == [{"message": charts.NO_SALES}]
        assert "x" not in spec["encoding"] and "y" not in spec["encoding"]
    for name in CHARTS:  # every chart on its own, from its table of the range
        drawn = rows(charts_for(result, name).to_dict())
        if name == "least_sellers":
            assert [(row["sku"], row["units"]) for row in drawn] == [("LAMP", 0)]
        else:
            assert drawn == [{"message": charts.NO_SALES}]


def test_empty_data_gives_valid_empty_charts(engine):
    for chart in every_chart(engine.page(SYSTEM)):
        spec = chart.to_dict()  # validated against Altair's schema
        assert spec["width"] == charts.WIDTH
        assert rows(spec) in ([{"message": charts.NO_SALES}], [{"message": charts.NO_PRODUCTS}])


def bundled_vega_lite_version() -> str:
    """The Vega-Lite version compiled into the installed Gradio's browser code."""
    assets = Path(gradio.__file__).parent / "templates" / "frontend" / "assets"
    found = {
        version
        for script in assets.glob("*.js")
        for version in re.findall(
            r"name:`vega-lite`,author:`[^`]*`,version:`([\d.]+)`", script.read_text("utf-8")
        )
    }
    assert len(found) == 1, found
    return found.pop()


def test_specs_name_the_vega_lite_that_gradio_draws_with(page):
    # Another version logs "The input spec uses Vega-Lite v6.4.1, but the current version of
    # Vega-Lite is v5..." in the browser for every chart drawn.
    version = bundled_vega_lite_version()
    assert version == charts.VEGA_LITE_VERSION
    for name in CHARTS:
        spec = json.loads(page_charts.draw(name, pick(page, TABLES[name][1])).plot)
        assert spec["$schema"] == f"https://vega.github.io/schema/vega-lite/v{version}.json"
        assert spec["usermeta"]["embedOptions"]["renderer"] == "svg"  # labels as page text


def test_charts_carry_the_range_under_their_title_and_money_in_the_currency(page):
    euros = ShopLocale(symbol="€")
    plot = page_charts.draw("top_customers", page["top_customers"], euros, subtitle="This year")
    spec = json.loads(plot.plot)
    assert spec["title"] == {"text": "Top customers", "subtitle": "This year"}
    assert spec["encoding"]["x"]["title"] == "Revenue (€)"
    assert spec["encoding"]["x"]["axis"]["format"] == "$,.2f"
    revenue = [tip for tip in spec["encoding"]["tooltip"] if tip["field"] == "revenue"]
    assert revenue[0]["format"] == "$,.2f"
    number = spec["config"]["locale"]["number"]
    assert number == {"decimal": ".", "thousands": ",", "grouping": [3, 3], "currency": ["€", ""]}


def test_chart_money_reads_the_shops_locale(page):
    german = ShopLocale(locale="de_DE", symbol="€")
    spec = json.loads(page_charts.draw("trend", page["trend"], german).plot)
    number = spec["config"]["locale"]["number"]
    assert (number["decimal"], number["thousands"], number["currency"]) == (",", ".", ["", "\xa0€"])
    assert spec["encoding"]["y"]["axis"]["format"] == "$,.2f"
    indian = chart_number_locale("hi_IN", "₹")
    assert indian["grouping"] == [3, 2] and indian["currency"] == ["₹", ""]
