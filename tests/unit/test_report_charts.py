"""Report charts (no database): PNGs at twice the 640 px e-mail width, identical bytes for identical
input, a "no data" image instead of an exception, Chinese labels drawn with the CJK font, and no
warnings, network or leftover matplotlib state."""

from __future__ import annotations

import io
import logging
import shutil
import socket
import struct
import subprocess
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

import matplotlib
import pytest
from PIL import Image

from cx_warehouse.reports import charts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WEEKS = [date(2025, 8, 4) + timedelta(weeks=i) for i in range(12)]
MONTHS = [date(2024 + (m // 12), m % 12 + 1, 1) for m in range(9, 21)]  # Oct 2024 .. Sep 2025
NPS = [8.1, 10.4, 7.9, None, 9.6, 11.2, 12.0, 9.8, 13.5, 11.9, 9.3, 12.5]
CHANNELS = ["app", "website", "phone", "store"]
SERVQUAL = ["tangibles", "reliability", "responsiveness", "assurance", "empathy"]
DRIVERS = ["product", "service", "price", "convenience", "brand", "relationship"]

CHARTS: dict[str, Callable[[], bytes]] = {
    "trend_weekly_band": lambda: charts.trend_chart(
        "NPS, weekly, with 95% interval", WEEKS, {"NPS": NPS},
        band=([None if v is None else v - 8.4 for v in NPS], [None if v is None else v + 8.4 for v in NPS])),
    "trend_monthly_two_series": lambda: charts.trend_chart(
        "Service, monthly", MONTHS, {"SLA breach %": [12, 11, 14, 13, 10, 9, 11, 8, 9, 7, 8, 6.5],
                                     "Complaints per 100 orders": [3.1, 3.0, None, 2.9, 2.8, 3.0, 2.7, 2.6, 2.9,
                                                                   2.5, 2.4, 2.6]},
        unit="%"),
    "interval": lambda: charts.interval_chart(
        "NPS by channel (95% interval)", CHANNELS, [12.5, 3.2, -5, 20], [4.1, -8, -20, -15], [20.9, 14, 10, 55],
        counts=[210, 150, 60, 18], flagged=[False, False, False, True], reference=8.9),
    "interval_fixed_range": lambda: charts.interval_chart(
        "NPS by channel", CHANNELS, [12.5, None, -5, 20], [4.1, None, None, -15], [20.9, None, None, 55],
        reference=None, xlim=(-100, 100)),
    "diverging": lambda: charts.diverging_bar_chart(
        "SERVQUAL gap (perception - expectation)", SERVQUAL, [-0.31, -0.62, -0.84, -0.22, -0.47],
        errors=[0.08, 0.1, 0.12, None, 0.09]),
    "diverging_mixed_signs": lambda: charts.diverging_bar_chart(
        "SERVQUAL gap", SERVQUAL, [0.18, -0.62, None, 0.05, -0.47]),
    "bar": lambda: charts.bar_chart(
        "Key drivers (share of explained variance)", DRIVERS, [22.7, 20.1, 17.2, 15.3, 13, 11.7], unit="%",
        highlight="product", value_format="{:.1f}"),
    "bar_counts_from_the_warehouse": lambda: charts.bar_chart(
        "Members by tier", ["bronze", "silver", "gold", "unknown"], [Decimal(15234), 6120, None, 42]),  # type: ignore[list-item]
    "grouped": lambda: charts.grouped_bar_chart(
        "First response by severity: median hours vs target", ["low", "medium", "high", "critical"],
        {"median hours": [30.5, 14.2, 5.1, None], "target hours": [48, 24, 8, 2]}, unit="h"),
}

CHINESE: dict[str, Callable[[], bytes]] = {
    "trend": lambda: charts.trend_chart("净推荐值（周）", WEEKS, {"门店": NPS, "官方App": NPS[::-1]}, unit="分"),
    "interval": lambda: charts.interval_chart(
        "各渠道 NPS（95% 置信区间）", ["门店", "官方App", "客服热线"], [20, 12.5, -5], [-15, 4.1, -20], [55, 20.9, 10],
        counts=[18, 210, 60], flagged=[True, False, False], reference=8.9),
    "diverging": lambda: charts.diverging_bar_chart("服务质量差距", ["有形性", "可靠性", "响应性"], [-0.3, -0.6, 0.1]),
    "bar": lambda: charts.bar_chart("流失原因", ["价格太高", "服务响应慢", "竞争对手促销活动力度大且持续时间长"], [34.2, 25.1, 12.4],
                                    unit="%"),
    "grouped": lambda: charts.grouped_bar_chart("首次响应（小时）", ["门店", "官方App", "客服热线"],
                                                {"本月": [10.2, 4.5, 2.1], "上月": [12.0, 5.1, 2.6]}, unit="小时"),
}

EMPTY: dict[str, Callable[[], bytes]] = {
    "trend_no_periods": lambda: charts.trend_chart("Nothing", [], {}),
    "trend_all_none": lambda: charts.trend_chart("Nothing", WEEKS[:3], {"NPS": [None, None, None]},
                                                 band=([None] * 3, [None] * 3)),
    "interval_no_rows": lambda: charts.interval_chart("Nothing", [], [], [], []),
    "interval_all_none": lambda: charts.interval_chart("Nothing", ["app"], [None], [None], [None], counts=[0],
                                                       flagged=[True], reference=None),
    "diverging_no_rows": lambda: charts.diverging_bar_chart("Nothing", [], []),
    "bar_all_none_or_nan": lambda: charts.bar_chart("Nothing", ["a", "b"], [None, float("nan")]),
    "grouped_no_groups": lambda: charts.grouped_bar_chart("Nothing", ["low"], {}),
    "grouped_all_none": lambda: charts.grouped_bar_chart("Nothing", ["low", "high"], {"now": [None, None]}),
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Charts are drawn offline: any attempt to connect anywhere fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("report charts must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a PNG must have first."""
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_is_a_valid_png_at_twice_the_email_width(name: str) -> None:
    data = CHARTS[name]()
    width, height = png_size(data)
    assert width == 1280  # shown at 640 CSS px: sharp on high-density screens and in the PDF
    assert 250 <= height <= 1200
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert "Software" not in image.info  # nothing that varies between matplotlib versions
        image.verify()  # chunk CRCs and structure


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_same_input_gives_identical_bytes(name: str) -> None:
    assert CHARTS[name]() == CHARTS[name]()


def test_a_users_matplotlib_settings_do_not_change_the_charts() -> None:
    expected = CHARTS["trend_weekly_band"]()
    with matplotlib.rc_context({"font.size": 20, "axes.facecolor": "black", "lines.linewidth": 6,
                                "axes.grid": True, "font.family": "serif"}):
        assert CHARTS["trend_weekly_band"]() == expected


def test_rendering_leaves_matplotlib_state_as_it_was() -> None:
    before = dict(matplotlib.rcParams)
    for make in CHARTS.values():
        make()
    assert dict(matplotlib.rcParams) == before


def test_charts_drawn_from_threads_match_charts_drawn_one_by_one() -> None:
    names = sorted(CHARTS)
    expected = [CHARTS[name]() for name in names]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda name: CHARTS[name](), names + names))
    assert got == expected + expected


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_or_all_none_input_gives_a_small_no_data_image(name: str) -> None:
    data = EMPTY[name]()
    width, height = png_size(data)
    assert width == 1280
    assert height <= 300
    # every chart type falls back to the same picture for the same title
    assert data == charts.bar_chart("Nothing", [], [])


def test_values_that_do_not_match_the_labels_are_a_caller_error() -> None:
    with pytest.raises(ValueError, match="3 values for 2 labels"):
        charts.bar_chart("x", ["a", "b"], [1, 2, 3])
    with pytest.raises(ValueError, match="series 'NPS'"):
        charts.trend_chart("x", WEEKS[:2], {"NPS": [1.0]})
    with pytest.raises(ValueError, match="counts"):
        charts.interval_chart("x", ["a"], [1.0], [0.0], [2.0], counts=[1, 2])


def test_text_is_never_parsed_as_mathtext() -> None:
    data = charts.bar_chart("Revenue in $ by $region$", ["$5 voucher", "50% off_sale ^2"], [3, 4])
    assert png_size(data)[0] == 1280


@pytest.fixture
def cjk_font_on_this_machine() -> Iterator[str]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        pytest.skip("fc-list (fontconfig) is not installed, so whether a CJK font is present cannot be checked")
    found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=60,
                           check=False).stdout.strip()
    if not found:
        pytest.skip("fc-list finds no CJK font (install Debian's fonts-noto-cjk, as scripts/setup does)")
    yield found


def test_chinese_labels_are_drawn_with_the_cjk_font(cjk_font_on_this_machine: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    family = charts.available_cjk_font()
    assert family is not None and family.startswith("Noto Sans CJK"), cjk_font_on_this_machine
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger=charts.__name__):
        warnings.simplefilter("always")
        for make in CHINESE.values():
            assert png_size(make())[0] == 1280
    glyph_warnings = [str(w.message) for w in caught if "Glyph" in str(w.message) or "missing from font" in str(w.message)]
    assert glyph_warnings == []
    assert caplog.records == []  # nothing was replaced by a box


def test_without_a_cjk_font_chinese_is_boxed_and_logged_not_warned(monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(charts, "available_cjk_font", lambda: None)
    charts._log_missing.cache_clear()  # it logs each set of characters once per process
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger=charts.__name__):
        warnings.simplefilter("always")
        for make in CHINESE.values():
            assert png_size(make())[0] == 1280
    # ResourceWarnings come from other tests' garbage collected meanwhile (e.g. a pooled connection)
    assert [str(w.message) for w in caught if not issubclass(w.category, ResourceWarning)] == []
    assert any("fonts-noto-cjk" in r.getMessage() for r in caplog.records)
