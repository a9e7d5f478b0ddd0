"""Charts: valid Vega-Lite specs of a fixed width, money formatted, empty data no error."""

from __future__ import annotations

import json

import pytest

from crpm import charts
from crpm.analytics import Analytics
from crpm.permissions import SYSTEM


@pytest.fixture
def page(services):
    a = SYSTEM
    ann = services.customers.add(a, "Ann", "ann@example.com").id
    tea = services.products.add(a, "TEA", "Tea", "12.34", 50, category="drinks").id
    services.purchases.record(a, ann, [(tea, 3)], purchased_at="2024-03-01")
    engine = Analytics(services.store)
    yield engine.page(SYSTEM)
    engine.close()


def every_chart(page):
    return [
        charts.revenue_trend(page["trend"]),
        charts.best_sellers(page["products"]["best"]),
        charts.least_sellers(page["products"]["least"]),
        charts.top_customers(page["top_customers"]),
        charts.category_share(page["products"]["by_category"]),
        charts.rfm_segments(page["rfm"]["segments"]),
    ]


def test_charts_have_fixed_width_titles_money_format_and_tooltips(page):
    for chart in every_chart(page):
        spec = chart.to_dict()
        assert spec["width"] == charts.WIDTH and spec["title"]
        assert spec["encoding"]["tooltip"]
        assert ",.2f" in json.dumps(spec["encoding"])
        data = next(iter(spec["datasets"].values()))
        assert data  # the rows are inline: nothing to fetch
    trend = charts.revenue_trend(page["trend"]).to_dict()
    assert next(iter(trend["datasets"].values()))[0]["revenue"] == 37.02


def test_units_axes_show_whole_numbers(page):
    for chart in (
        charts.best_sellers(page["products"]["best"]),
        charts.least_sellers(page["products"]["least"]),
    ):
        axis = chart.to_dict()["encoding"]["x"]["axis"]
        assert (axis["format"], axis["tickMinStep"]) == (",d", 1)


def test_empty_data_gives_valid_empty_charts(services):
    engine = Analytics(services.store)
    try:
        for chart in every_chart(engine.page(SYSTEM)):
            spec = chart.to_dict()
            assert spec["width"] == charts.WIDTH
    finally:
        engine.close()
