"""The retail calendar: weekly rhythm and the Chinese shopping festivals.

Demand is a multiplier on every customer's purchase rate, so marts see the patterns real
Chinese retail data has: busier weekends, the 618 and Double 11 (11.11) spikes, Double 12,
a Christmas bump, and the Chinese New Year dip when logistics stop (with shopping ahead
of it).
"""

from __future__ import annotations

from datetime import date

# Monday .. Sunday
WEEKDAY = (0.86, 0.84, 0.9, 0.95, 1.08, 1.22, 1.15)

CHINESE_NEW_YEAR = {
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26),
    2029: date(2029, 2, 13), 2030: date(2030, 2, 3), 2031: date(2031, 1, 23),
    2032: date(2032, 2, 11), 2033: date(2033, 1, 31), 2034: date(2034, 2, 19),
    2035: date(2035, 2, 8),
}
PEAK_DEMAND = 1.8
"""Above this multiplier the service team is overloaded: slower first responses."""


def festival(d: date) -> float:
    """Multiplier for festivals and holidays on day ``d`` (1.0 on an ordinary day)."""
    m, day = d.month, d.day
    f = 1.0
    if m == 11:
        if day == 11:
            f = 5.0
        elif 1 <= day <= 10:
            f = 1.5 + 0.1 * day  # pre-sale ramps up to the day itself
        elif day == 12:
            f = 1.6
    elif m == 6:
        if day == 18:
            f = 3.5
        elif 1 <= day <= 17:
            f = 1.3 + 0.03 * day
    elif m == 12:
        if day == 12:
            f = 2.0
        elif 18 <= day <= 25:
            f = 1.35
    elif m == 2 and day == 14:
        f = 1.3
    elif m == 5 and day == 20:
        f = 1.3
    cny = CHINESE_NEW_YEAR.get(d.year)
    if cny is not None:
        delta = (d - cny).days
        if -21 <= delta <= -8:
            f *= 1.25  # new-year shopping
        elif -7 <= delta <= -1:
            f *= 0.6  # couriers stop
        elif 0 <= delta <= 7:
            f *= 0.35
        elif 8 <= delta <= 14:
            f *= 0.8
    return f


def demand(d: date) -> float:
    """Purchase-rate multiplier for day ``d``: weekday rhythm times festivals."""
    return WEEKDAY[d.weekday()] * festival(d)


def is_double_11(d: date) -> bool:
    return d.month == 11 and d.day == 11


def is_sale_season(d: date) -> bool:
    """Days when most lines carry a promotional discount."""
    return (d.month == 11 and d.day <= 12) or (d.month == 6 and d.day <= 18) or (d.month == 12 and d.day == 12)
