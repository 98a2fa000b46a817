"""Customer behaviour: the simulation that makes the synthetic data worth analysing.

Each customer is simulated on their own seeded random generator, day by day through the
window, so the same seed gives the same world and one customer's story never depends on
how many others there are. A customer has an archetype that later marts should be able
to recover from the data alone:

* ``loyal``: frequent, steady buyers, mostly promoters, members in high tiers;
* ``regular``: occasional buyers;
* ``declining``: purchase frequency and basket size fall through the window (churn early
  warning: falling frequency and spend against their own history);
* ``churning``: buy, grow dissatisfied (complaints, detractor scores, negative posts) and
  stop buying;
* ``one_time``: a single purchase;
* ``prospect``: registered, never buys;
* ``won_back``: lapse, receive a win-back coupon, redeem it and buy again.

Traits cut across archetypes: complainers file more tickets and score lower, social
advocates post positively, price-sensitive customers chase discounts. Satisfaction is a
latent score per customer that events move (breached response targets, reopened tickets,
refunds, compensation, surprise perks, care calls); survey answers, ticket CSAT and post
sentiment are drawn from it, and NPS is built from the driver ratings so a key-driver
analysis finds real signal.

The output is a list of :class:`Instance` per entity: one business object (a customer, an
order, a ticket ...) with its versions over time. Delivery (which daily file gets which
version) and faults in the files are the writers' job.

A large world is simulated in shards (:class:`Shard`): independent sub-worlds of consecutive
customers, one after the other, so memory holds one shard at a time. A shard draws its
customers from their own seeds as a whole world would, runs its own crowd (people outside the
CRM, in proportion to its customers) and numbers its business objects after the shards before
it; identifiers drawn at random (e-mails, handles, post and response ids) are checked against
the earlier shards' (:class:`TakenIds`) so every key stays unique. The first shard of any world
is exactly the world of that many customers.
"""

from __future__ import annotations

import bisect
import calendar
import functools
import hashlib
import heapq
import math
import random
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cx_demo.generator import season, text
from cx_demo.generator.faults import FaultRates, email_variant
from cx_warehouse.config.business import BusinessRules, load_business

DAY = 86_400
HOUR = 3_600
LOCAL_OFFSET = 8 * HOUR
"""Local time is China Standard Time (UTC+8): daily files hold one local calendar day."""

ARCHETYPES: tuple[tuple[str, float], ...] = (
    ("loyal", 0.10), ("regular", 0.28), ("declining", 0.12), ("churning", 0.10),
    ("one_time", 0.15), ("prospect", 0.15), ("won_back", 0.10),
)
# Orders per day, as (low, high) of a uniform draw; a few % of customers order in a week.
ORDER_RATE = {
    "loyal": (0.015, 0.030), "regular": (0.004, 0.009), "declining": (0.012, 0.020),
    "churning": (0.006, 0.014), "won_back": (0.006, 0.014), "one_time": (0.0, 0.0), "prospect": (0.0, 0.0),
}
SATISFACTION = {
    "loyal": 1.1, "regular": 0.35, "declining": 0.3, "churning": 0.2, "one_time": 0.0,
    "prospect": 0.3, "won_back": 0.2,
}
TIER_MULTIPLIER = {"bronze": 1.0, "silver": 1.2, "gold": 1.5, "platinum": 2.0}
WIN_BACK_AFTER_DAYS = 90
WIN_BACK_COOLDOWN_DAYS = 180
SHOCK_HALF_LIFE_DAYS = 30.0

ORDER_CHANNELS = ("web", "app", "store", "phone")
TICKET_CHANNELS = (("phone", 30), ("email", 15), ("live_chat", 25), ("app", 15), ("store", 8), ("social", 7))
SEVERITIES = (("low", 45), ("medium", 33), ("high", 16), ("critical", 6))
CN_PLATFORMS = (("weibo", 30), ("xiaohongshu", 30), ("douyin", 20), ("wechat", 20))
EN_PLATFORMS = (("instagram", 45), ("x", 40), ("xiaohongshu", 15))
DRIVERS = ("product", "service", "price", "convenience", "brand", "relationship")
DRIVER_WEIGHTS = {"product": 0.30, "service": 0.22, "price": 0.16, "convenience": 0.14, "brand": 0.10,
                  "relationship": 0.08}
BRAND_FOLLOWERS = {"weibo": 1_280_000, "wechat": 560_000, "xiaohongshu": 430_000, "douyin": 910_000, "x": 48_000,
                   "instagram": 95_000}
SERVQUAL = ("tangibles", "reliability", "responsiveness", "assurance", "empathy")
MAX_CUSTOMERS = 10_000_000
"""Member numbers (``idx * 7919 mod 10^8``) stay unique far beyond this; time is the real limit."""
ENTITIES = ("crm.customers", "crm.orders", "crm.order_lines", "crm.tickets", "crm.memberships",
            "crm.tier_changes", "crm.points_ledger", "crm.campaign_contacts", "survey.responses",
            "social.mentions")
"""The entities the model fills (``source.entity``): what :meth:`World.instances` builds."""

_ONLINE_HOURS = (1.0, 0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.0, 1.5, 2.0, 2.5, 2.5, 2.5, 2.2, 2.2, 2.2, 2.2, 2.2,
                 2.5, 3.0, 3.5, 3.5, 3.0, 2.0)
_STORE_HOURS = tuple(w if 10 <= h <= 21 else 0.0 for h, w in enumerate(_ONLINE_HOURS))


def _cum(weights: tuple[float, ...]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


_ONLINE_CUM = _cum(_ONLINE_HOURS)
_STORE_CUM = _cum(_STORE_HOURS)
_D11_CUM = _cum((12.0,) + _ONLINE_HOURS[1:])


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...] | tuple[tuple[str, float], ...]) -> str:
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


def _clip(value: float, low: int, high: int) -> int:
    return max(low, min(high, int(round(value))))


# ---------------------------------------------------------------------------------------
# Business objects
# ---------------------------------------------------------------------------------------
@dataclass(eq=False)
class Instance:
    """One business object of one entity, as the source system would export it over time.

    ``versions`` are (version timestamp, row) in time order; rows map column names to
    Python values (None for NULL). ``business_ts`` is the event time that decides late
    arrival; ``late_days`` delays the first delivery; ``fault`` is a fault the model
    planted in the values (late_arrival, orphan_reference, email_case).
    """

    entity: str
    key: tuple[Any, ...]
    versions: list[tuple[int, dict[str, Any]]]
    business_ts: int
    late_days: int = 0
    fault: str | None = None


@dataclass(eq=False)
class Order:
    customer: Customer | None
    customer_id: str
    ts: int
    channel: str
    store_id: str | None
    lines: list[tuple[str, int, int, int]]  # product_id, quantity, unit price cents, discount cents
    seq: int
    status_events: list[tuple[int, str]] = field(default_factory=list)
    order_id: str = ""
    late_days: int = 0
    orphan: bool = False

    @property
    def total_cents(self) -> int:
        return sum(q * p - d for _, q, p, d in self.lines)

    @property
    def discount_cents(self) -> int:
        return sum(d for *_, d in self.lines)

    def final_status(self, until: int) -> str:
        status = "paid"
        for ts, s in self.status_events:
            if ts <= until:
                status = s
        return status

    def add_status(self, ts: int, status: str) -> bool:
        """Record a status change unless the order is already cancelled or refunded."""
        if self.status_events or ts <= self.ts:
            return False
        self.status_events.append((ts, status))
        return True


@dataclass(eq=False)
class Ticket:
    customer_id: str
    ts: int
    channel: str
    category: str
    severity: str
    is_complaint: bool
    subject: str
    description: str
    seq: int
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    ticket_id: str = ""
    order: Order | None = None
    lang: str = "zh"
    late_days: int = 0
    orphan: bool = False


@dataclass(eq=False)
class Contact:
    customer_id: str
    campaign_id: str
    campaign_type: str
    channel: str
    ts: int
    coupon_code: str | None
    seq: int
    response: tuple[int, bool, str] | None = None  # (ts, responded, response)
    contact_id: str = ""


@dataclass(eq=False)
class LedgerEntry:
    customer_id: str
    entry_type: str
    reason: str
    points: int
    order: Order | None
    ts: int
    expires_ts: int | None
    seq: int
    entry_id: str = ""
    late_days: int = 0


@dataclass(eq=False)
class TierChange:
    customer_id: str
    from_tier: str | None
    to_tier: str
    ts: int
    reason: str
    seq: int
    tier_change_id: str = ""


@dataclass(eq=False)
class Membership:
    customer_id: str
    member_number: str
    joined_ts: int
    tier: str
    versions: list[tuple[int, str, int]]  # (updated, tier, tier_since)


@dataclass(eq=False)
class Customer:
    idx: int
    customer_id: str
    rng: random.Random
    archetype: str
    lang: str
    profile: dict[str, Any]
    signup_ts: int
    signup_day: int
    email: str | None
    handle: str | None
    platform: str | None
    followers: int
    complainer: bool
    advocate: bool
    price_sensitive: bool
    rate: float
    churn_x: float
    lapse_x: float
    one_time_day: int | None
    pref_channel: str
    store_id: str | None
    fav_categories: tuple[str, ...]
    hist_annual_spend: float
    last_order_ts: int | None
    profile_versions: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    shocks: list[tuple[int, float]] = field(default_factory=list)
    membership: Membership | None = None
    spend: list[tuple[int, Order]] = field(default_factory=list)
    ledger_intents: list[tuple[int, int, str, Any]] = field(default_factory=list)
    forced_orders: dict[int, str] = field(default_factory=dict)
    won_back_day: int | None = None
    last_win_back_contact: int | None = None
    seq: int = 0
    window_spend_cents: int = 0
    spend_milestone_done: bool = False

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


# ---------------------------------------------------------------------------------------
# Shards
# ---------------------------------------------------------------------------------------
class TakenIds:
    """Identifiers drawn by earlier shards, per kind, as a sorted array of 64-bit fingerprints.

    Eight bytes an identifier instead of a set of strings keeps a 1M-customer world's few
    million e-mails, handles, post and response ids in tens of MB. Two identifiers sharing a
    fingerprint only make a later shard draw again, which is as deterministic as the rest.
    """

    def __init__(self) -> None:
        self._taken: dict[str, array[int]] = {}

    @staticmethod
    def _fingerprint(value: str) -> int:
        return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "big")

    def has(self, kind: str, value: str) -> bool:
        taken = self._taken.get(kind)
        if not taken:
            return False
        fp = self._fingerprint(value)
        i = bisect.bisect_left(taken, fp)
        return i < len(taken) and taken[i] == fp

    def add(self, kind: str, values: Iterable[str]) -> None:
        new = sorted({self._fingerprint(v) for v in values})
        self._taken[kind] = array("Q", heapq.merge(self._taken.get(kind, array("Q")), new))


@dataclass
class Numbering:
    """How many business objects the earlier shards numbered: a shard's ids continue from here."""

    orders_per_day: dict[str, int] = field(default_factory=dict)
    tickets: int = 0
    contacts: int = 0
    ledger: int = 0
    tier_changes: int = 0


@dataclass
class Shard:
    """Where a :class:`World` sits in a larger world: its first customer's index, the world's
    size (which decides the range of orphan customer ids) and what earlier shards drew."""

    index: int = 0
    first_customer: int = 0
    total_customers: int = 0
    taken: TakenIds = field(default_factory=TakenIds)
    numbering: Numbering = field(default_factory=Numbering)


def orphan_id_base(total_customers: int) -> int:
    """First of the 99,999 customer ids no customer has (orphan references point there).

    Real ids run from C100001 to C{100000 + total}. The base is 900000, the range worlds of
    up to 799,999 customers have always used, times ten until it is above the real ids.
    """
    base = 900_000
    while base <= 100_000 + total_customers:
        base *= 10
    return base


# ---------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------
class World:
    """Simulates ``customers`` customers over ``days`` days from ``start``.

    Call :meth:`run`, then :meth:`instances` for the rows of each entity. With ``shard`` it is
    one shard of a larger world (see the module docstring); without, a world of its own.
    """

    def __init__(self, *, customers: int, days: int, start: date, seed: int, faults: FaultRates,
                 shard: Shard | None = None) -> None:
        shard = shard or Shard(total_customers=customers)
        total = max(shard.total_customers, shard.first_customer + customers)
        if customers < 1 or total > MAX_CUSTOMERS:
            raise ValueError(f"customers must be between 1 and {MAX_CUSTOMERS}")
        if days < 1:
            raise ValueError("days must be at least 1")
        self.n_customers = customers
        self.days = days
        self.start = start
        self.seed = seed
        self.faults = faults
        self.shard = shard
        self.taken = shard.taken
        self.orphan_base = orphan_id_base(total)
        self.start_ts = calendar.timegm(start.timetuple()) - LOCAL_OFFSET
        self.end_ts = self.start_ts + days * DAY
        self.dates = [start + timedelta(days=i) for i in range(days)]
        self.demand = [season.demand(d) for d in self.dates]
        self._month_starts = [i for i, d in enumerate(self.dates) if d.day == 1]
        self._survey_days = [i for i, d in enumerate(self.dates) if d.day == 15 and d.month in (2, 5, 8, 11)]
        self._mmdd = [f"{d:%m-%d}" for d in self.dates]
        self._days_by_mmdd: dict[str, list[int]] = {}
        for i, mmdd in enumerate(self._mmdd):
            self._days_by_mmdd.setdefault(mmdd, []).append(i)
        self._calendar_days = frozenset(self._month_starts) | frozenset(self._survey_days)
        self.customers: list[Customer] = []
        self.orders: list[Order] = []
        self.tickets: list[Ticket] = []
        self.contacts: list[Contact] = []
        self.ledger: list[LedgerEntry] = []
        self.tier_changes: list[TierChange] = []
        self.memberships: list[Membership] = []
        self.responses: list[Instance] = []
        self.mentions: list[Instance] = []
        self._posts_by_day: dict[tuple[str, int], list[tuple[int, str]]] = {}
        self._post_ids: set[tuple[str, str]] = set()
        self._emails: set[str] = set()
        self._handles: set[str] = set()
        self._response_ids: set[str] = set()

    # -- time helpers -------------------------------------------------------------------
    def day_of(self, ts: int) -> int:
        """Window day index of a timestamp's local calendar date (may be <0 or >=days)."""
        return (ts - self.start_ts) // DAY

    def day_start(self, d: int) -> int:
        return self.start_ts + d * DAY

    def at(self, d: int, rng: random.Random, store: bool = False) -> int:
        """A realistic local time of day on window day ``d``."""
        if store:
            cum = _STORE_CUM
        elif 0 <= d < self.days and season.is_double_11(self.dates[d]):
            cum = _D11_CUM
        else:
            cum = _ONLINE_CUM
        hour = rng.choices(range(24), cum_weights=cum)[0]
        return self.day_start(d) + hour * HOUR + rng.randrange(HOUR)

    def in_window(self, ts: int) -> bool:
        return self.start_ts <= ts < self.end_ts

    # -- run ----------------------------------------------------------------------------
    def run(self, progress: Callable[[str], None] | None = None) -> None:
        """Create and simulate every customer, then the crowd outside the CRM."""
        step = max(1, self.n_customers // 5)
        first = self.shard.first_customer
        for n in range(self.n_customers):
            c = self._make_customer(first + n)
            self.customers.append(c)
            self._simulate(c)
            # What only the customer's own simulation needed (the crowd that follows uses its own
            # generator): a shard of 100,000 customers holds 250 MB less.
            del c.rng
            c.ledger_intents.clear()
            c.spend.clear()
            if progress and (n + 1) % step == 0:
                progress(f"simulated {n + 1}/{self.n_customers} customers")
        self._simulate_crowd()
        if self.shard.index == 0:  # once per world: the first shard is a whole world of its own
            self._ensure_model_faults()
        self._assign_ids()

    def record_taken(self) -> None:
        """Add the identifiers this shard drew to :attr:`taken`, for the shards after it."""
        self.taken.add("email", self._emails)
        self.taken.add("handle", self._handles)
        self.taken.add("post", (f"{platform}:{pid}" for platform, pid in self._post_ids))
        self.taken.add("response", self._response_ids)

    def _free(self, kind: str, local: set[str], value: str) -> bool:
        """Whether ``value`` is still free: neither this shard nor an earlier one drew it."""
        return value not in local and not self.taken.has(kind, value)

    def _orphan_customer_id(self, rng: random.Random) -> str:
        return f"C{self.orphan_base + rng.randrange(99_999):06d}"

    def _ensure_model_faults(self) -> None:
        """Plant each model-level fault kind with a non-zero rate at least once.

        Small data sets (tests, quick demos) would otherwise often miss a kind entirely,
        and a check that never sees its fault proves nothing.
        """
        rng = random.Random(f"{self.seed}:ensure-faults")
        if self.faults.orphan_reference > 0 and not any(o.orphan for o in self.orders) \
                and not any(t.orphan for t in self.tickets):
            d = rng.randrange(self.days)
            pid, _, _, price = rng.choice(text.PRODUCTS)
            order = Order(None, self._orphan_customer_id(rng), self.at(d, rng), "web", None,
                          [(pid, 1, price * 100, 0)], 0, orphan=True)
            self.orders.append(order)
        late = any(o.late_days for o in self.orders) or any(t.late_days for t in self.tickets) \
            or any(e.late_days for e in self.ledger) or any(i.late_days for i in self.responses + self.mentions)
        if self.faults.late_arrival > 0 and not late:
            orders = [o for o in self.orders if not o.orphan and 0 <= self.day_of(o.ts) < self.days - 2]
            if orders:
                late_order = rng.choice(orders)
                late_order.late_days = rng.randint(2, min(10, self.days - 1 - self.day_of(late_order.ts)))
        if self.faults.email_case > 0 and not any(i.fault == "email_case" for i in self.responses):
            responses = [i for i in self.responses if i.fault is None and not i.late_days
                         and i.versions[0][1].get("respondent_email") in self._emails]
            if responses:
                inst = rng.choice(responses)
                row = inst.versions[0][1]
                row["respondent_email"] = email_variant(row["respondent_email"], rng)
                inst.fault = "email_case"

    # -- customers ----------------------------------------------------------------------
    def _make_customer(self, idx: int) -> Customer:
        rng = random.Random(f"{self.seed}:customer:{idx}")
        archetype = rng.choices([a for a, _ in ARCHETYPES], weights=[w for _, w in ARCHETYPES])[0]
        lang = "en" if rng.random() < 0.22 else "zh"
        abroad = rng.random() < (0.35 if lang == "en" else 0.02)
        gender_roll = rng.random()
        gender = "female" if gender_roll < 0.56 else "male" if gender_roll < 0.94 else None
        female = gender != "male"
        if lang == "zh":
            sur, sur_py = rng.choice(text.ZH_SURNAMES)
            given, given_py = rng.choice(text.ZH_GIVEN_F if female else text.ZH_GIVEN_M)
            first_name, last_name = given, sur
            local_parts = [f"{given_py}{sur_py}", f"{sur_py}.{given_py}", f"{sur_py}{given_py}", f"{given_py}_{sur_py}"]
            domains: tuple[str, ...] = text.ZH_EMAIL_DOMAINS
        else:
            first_name = rng.choice(text.EN_GIVEN_F if female else text.EN_GIVEN_M)
            last_name = rng.choice(text.EN_SURNAMES)
            fn = first_name.lower().encode("ascii", "ignore").decode()
            ln = last_name.lower().replace("'", "").encode("ascii", "ignore").decode()
            local_parts = [f"{fn}.{ln}", f"{fn}{ln}", f"{fn[:1]}{ln}", f"{fn}_{ln}"]
            domains = text.EN_EMAIL_DOMAINS
        birth_year = rng.randint(1958, 2006)
        birth = date(birth_year, rng.randint(1, 12), rng.randint(1, 28)) if rng.random() < 0.85 else None
        email: str | None = None
        if rng.random() < 0.95:
            for attempt in range(50):
                local = rng.choice(local_parts)
                if attempt or rng.random() < 0.5:
                    local += str(rng.choice((birth_year % 100, birth_year, rng.randint(1, 999))))
                if lang == "zh" and rng.random() < 0.12:
                    local = str(rng.randint(10_000_000, 2_999_999_999))
                    candidate = f"{local}@qq.com"
                else:
                    candidate = f"{local}@{rng.choice(domains)}"
                if self._free("email", self._emails, candidate):
                    email = candidate
                    self._emails.add(candidate)
                    break
        if abroad:
            city, region, _, code = rng.choices(text.ABROAD_CITIES, weights=[c[2] for c in text.ABROAD_CITIES])[0]
            phone = f"{code} {rng.randint(2000, 9999)} {rng.randint(1000, 9999)}"
        else:
            city, region, _ = rng.choices(text.CN_CITIES, weights=[c[2] for c in text.CN_CITIES])[0]
            digits = f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
            style = rng.random()
            phone = (f"+86{digits}" if style < 0.6 else digits if style < 0.85
                     else f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}")
        phone_value: str | None = phone if rng.random() >= 0.08 else None
        advocate = rng.random() < (0.25 if archetype == "loyal" else 0.05)
        complainer = rng.random() < (0.3 if archetype in ("churning", "declining") else 0.08)
        handle = platform = None
        followers = 0
        if rng.random() < (0.9 if advocate else 0.4):
            platform = _pick(rng, CN_PLATFORMS if lang == "zh" and not abroad else EN_PLATFORMS)
            for _ in range(50):
                if lang == "zh" and rng.random() < 0.5:
                    candidate = f"@{rng.choice(text.ZH_HANDLE_WORDS)}{first_name}{rng.randint(1, 9999)}"
                else:
                    base = (local_parts[0] if email is None else email.split("@")[0]).replace(".", "_")
                    candidate = f"@{base[:12]}_{rng.choice(text.HANDLE_WORDS)}{rng.randint(1, 99)}"
                if self._free("handle", self._handles, candidate):
                    handle = candidate
                    self._handles.add(candidate)
                    break
            followers = int(min(2_000_000, math.exp(rng.gauss(math.log(300), 1.5)) * (3 if advocate else 1)))
        new_signup = rng.random() < 0.22
        if new_signup:
            signup_day = rng.randrange(self.days)
            signup_ts = self.at(signup_day, rng)
        else:
            signup_ts = self.start_ts - rng.randint(2, 2200) * DAY + rng.randrange(DAY)
            signup_day = self.day_of(signup_ts)
        channel_roll = rng.random()
        signup_channel = ("app" if channel_roll < 0.35 else "web" if channel_roll < 0.6 else
                          "store" if channel_roll < 0.8 else "wechat" if channel_roll < 0.92 else "referral")
        stores_here = [s for s, c in text.STORES if c == city]
        store_id = rng.choice(stores_here) if stores_here else None
        if abroad:
            pref = "web" if rng.random() < 0.7 else "app"
        elif store_id is not None:
            pref = _pick(rng, (("store", 35), ("app", 35), ("web", 20), ("phone", 10)))
        else:
            pref = _pick(rng, (("app", 50), ("web", 40), ("phone", 10)))
        low, high = ORDER_RATE[archetype]
        rate = rng.uniform(low, high)
        aov = 850.0  # what the basket model below averages
        hist = 0.0
        last_order_ts: int | None = None
        if signup_day < 0 and archetype not in ("prospect",):
            hist = (rate if archetype != "one_time" else 0.003) * 365 * aov * rng.uniform(0.7, 1.3)
            back = {"loyal": (1, 30), "regular": (5, 90), "declining": (1, 45), "churning": (1, 45),
                    "won_back": (1, 45), "one_time": (100, 700)}[archetype]
            last_order_ts = max(signup_ts, self.start_ts - rng.randint(*back) * DAY)
        one_time_day = None
        if archetype == "one_time" and rng.random() < (0.85 if signup_day >= 0 else 0.6):
            first = max(0, signup_day + 1)
            one_time_day = rng.randint(first, self.days - 1) if first < self.days else None
        customer_id = f"C{100001 + idx:06d}"
        profile: dict[str, Any] = {
            "customer_id": customer_id,
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "phone": phone_value,
            "gender": gender,
            "birth_date": birth.isoformat() if birth else None,
            "city": city,
            "region": region,
            "signup_date": _local_date(signup_ts),
            "signup_channel": signup_channel,
            "marketing_opt_in": rng.random() < 0.7,
            "social_handle": handle,
        }
        c = Customer(
            idx=idx, customer_id=customer_id, rng=rng, archetype=archetype, lang=lang,
            profile=profile, signup_ts=signup_ts, signup_day=signup_day, email=email, handle=handle,
            platform=platform, followers=followers, complainer=complainer, advocate=advocate,
            price_sensitive=rng.random() < 0.25, rate=rate, churn_x=rng.uniform(0.25, 0.7),
            lapse_x=rng.uniform(0.1, 0.3), one_time_day=one_time_day, pref_channel=pref, store_id=store_id,
            fav_categories=tuple(rng.sample(sorted({p[2] for p in text.PRODUCTS}), 2)),
            hist_annual_spend=hist, last_order_ts=last_order_ts,
        )
        first_version_ts = signup_ts if signup_day >= 0 else signup_ts + int(rng.random() * (self.start_ts - signup_ts))
        c.profile_versions.append((first_version_ts, dict(profile)))
        return c

    def sat(self, c: Customer, ts: int) -> float:
        """Latent satisfaction of a customer at ``ts`` (about -2 .. +2)."""
        x = (ts - self.start_ts) / (self.end_ts - self.start_ts)
        a = c.archetype
        base = SATISFACTION[a]
        if a == "declining":
            base = 0.3 - 1.1 * x
        elif a == "churning":
            if x > c.churn_x:
                base = -1.2
            elif x > c.churn_x - 0.25:
                base = 0.2 - 1.6 * (x - (c.churn_x - 0.25)) / 0.25
        elif a == "won_back":
            if c.won_back_day is not None and ts >= self.day_start(c.won_back_day):
                base = 0.6
            elif x > c.lapse_x:
                base = -0.5
        if c.complainer:
            base -= 0.5
        for shock_ts, size in c.shocks:
            if shock_ts <= ts:
                base += size * 0.5 ** ((ts - shock_ts) / (SHOCK_HALF_LIFE_DAYS * DAY))
        return base

    def _rate(self, c: Customer, d: int) -> float:
        x = d / self.days
        a = c.archetype
        if a in ("loyal", "regular"):
            return c.rate
        if a == "declining":
            return c.rate * (1.0 - 0.8 * x)
        if a == "churning":
            return c.rate if x < c.churn_x else 0.0
        if a == "won_back":
            if c.won_back_day is not None and d >= c.won_back_day:
                return c.rate * 1.1
            return c.rate if x < c.lapse_x else 0.0
        return 0.0

    def _is_member(self, c: Customer, ts: int) -> bool:
        return c.membership is not None and c.membership.joined_ts <= ts

    def _simulate(self, c: Customer) -> None:
        rng = c.rng
        self._initial_membership(c)
        self._profile_edits(c)
        first_day = max(0, c.signup_day + 1 if c.signup_day >= 0 else 0)
        special = self._special_days(c)
        demand = self.demand
        p_ticket = 0.0015 if c.complainer else 0.0005
        p_referral = 0.001 if (c.archetype == "loyal" or c.advocate) else 0.0
        p_post = (0.006 if c.advocate else 0.0008) if c.handle else 0.0
        # what _rate gives without asking it each day (this loop runs customers x days times)
        never = c.archetype in ("one_time", "prospect")
        steady = c.rate if c.archetype in ("loyal", "regular") else None
        for d in range(first_day, self.days):
            if d in special:
                self._special(c, d)
            forced = c.forced_orders.pop(d, None) if c.forced_orders else None
            if never:
                rate = 0.0
            elif steady is not None:
                rate = steady * demand[d]
            else:
                rate = self._rate(c, d) * demand[d]
            if c.one_time_day == d:
                rate = 1.0
            if forced is not None or (rate > 0 and rng.random() < rate):
                self._order(c, d, coupon=forced)
            # One draw for the rare daily events keeps the loop cheap; they exclude each other.
            u = rng.random()
            if u < p_ticket:
                self._ticket(c, self.at(d, rng), None)
            elif u < p_ticket + p_referral:
                if c.membership is not None and c.membership.joined_ts <= self.day_start(d):
                    c.ledger_intents.append((self.at(d, rng), c.next_seq(), "referral", None))
            elif u < p_ticket + p_referral + p_post:
                self._post(c, self.at(d, rng), None)
        self._process_ledger(c)

    def _special_days(self, c: Customer) -> set[int]:
        """Window days on which something calendar-driven may happen to this customer."""
        days = set(self._calendar_days)
        for mmdd in (c.profile["signup_date"][5:], (c.profile["birth_date"] or "")[5:]):
            days.update(self._days_by_mmdd.get(mmdd, ()))
        return days

    def _special(self, c: Customer, d: int) -> None:
        rng = c.rng
        today = self.dates[d]
        if today.day == 1:
            self._tier_review(c, d)
            self._win_back_run(c, d)
            if (c.archetype == "loyal" or c.advocate or (c.membership and c.membership.tier in ("gold", "platinum"))) \
                    and rng.random() < 0.08:
                self._contact(c, "surprise", self.at(d + rng.randrange(0, 20), rng), f"CMP-SURPRISE-{today:%Y%m}")
        if today.day == 15 and today.month in (2, 5, 8, 11) and c.email and rng.random() < 0.06:
            self._response(c, self.at(d + rng.randrange(0, 10), rng), "relational",
                           survey_id=f"SV-REL-{today.year}Q{(today.month - 1) // 3 + 1}")
        self._anniversaries(c, d, today)

    def _initial_membership(self, c: Customer) -> None:
        rng = c.rng
        if c.signup_day < 0:
            share = {"loyal": 0.95, "regular": 0.7, "declining": 0.8, "churning": 0.65, "won_back": 0.7,
                     "one_time": 0.3, "prospect": 0.1}[c.archetype]
            if rng.random() < share:
                joined = c.signup_ts + int(rng.random() * (self.start_ts - c.signup_ts))
                tier = _tier_for(c.hist_annual_spend)
                since = joined + int(rng.random() * (self.start_ts - joined))
                self._new_membership(c, joined, tier, since)
        elif rng.random() < (0.1 if c.archetype == "prospect" else 0.5):
            self._join(c, c.signup_ts + rng.randint(60, 3600), "joined_at_signup")

    def _new_membership(self, c: Customer, joined: int, tier: str, since: int) -> None:
        m = Membership(c.customer_id, f"M{(c.idx * 7919 + 1_234_567) % 100_000_000:08d}", joined, tier,
                       [(max(joined, since), tier, since)])
        c.membership = m
        self.memberships.append(m)

    def _join(self, c: Customer, ts: int, reason: str) -> None:
        self._new_membership(c, ts, "bronze", ts)
        self.tier_changes.append(TierChange(c.customer_id, None, "bronze", ts, reason, c.next_seq()))

    def _profile_edits(self, c: Customer) -> None:
        rng = c.rng
        if rng.random() > 0.15:
            return
        first = max(0, c.signup_day + 2)
        if first >= self.days:
            return
        profile = dict(c.profile)
        for _ in range(1 if rng.random() < 0.8 else 2):
            ts = self.at(rng.randint(first, self.days - 1), rng)
            if ts <= c.profile_versions[-1][0]:
                continue
            what = rng.choice(("phone", "city", "marketing_opt_in", "social_handle", "email"))
            if what == "phone":
                profile["phone"] = f"+861{rng.choice('3456789')}{rng.randint(100_000_000, 999_999_999)}"
            elif what == "city":
                city, region, _ = rng.choices(text.CN_CITIES, weights=[x[2] for x in text.CN_CITIES])[0]
                profile["city"], profile["region"] = city, region
            elif what == "marketing_opt_in":
                profile["marketing_opt_in"] = not profile["marketing_opt_in"]
            elif what == "social_handle" and c.handle is None:
                candidate = f"@{c.customer_id.lower()}_{rng.choice(text.HANDLE_WORDS)}"
                if self._free("handle", self._handles, candidate):
                    self._handles.add(candidate)
                    profile["social_handle"] = candidate
            elif what == "email" and c.email:
                candidate = f"{c.email.split('@')[0]}.new{rng.randint(1, 99)}@{rng.choice(text.ZH_EMAIL_DOMAINS)}"
                if self._free("email", self._emails, candidate):
                    self._emails.add(candidate)
                    profile["email"] = candidate
            c.profile_versions.append((ts, dict(profile)))

    def _anniversaries(self, c: Customer, d: int, today: date) -> None:
        m = c.membership
        if m is None or m.joined_ts > self.day_start(d):
            return
        rng = c.rng
        signup = c.profile["signup_date"]
        if signup[5:] == self._mmdd[d] and signup[:4] != str(today.year) and rng.random() < 0.3:
            self._contact(c, "milestone", self.at(d, rng), "CMP-MILESTONE-ANNIV")
        birth = c.profile["birth_date"]
        if birth and birth[5:] == self._mmdd[d]:
            c.ledger_intents.append((self.day_start(d) + 9 * HOUR + rng.randrange(HOUR), c.next_seq(), "birthday", None))

    # -- orders -------------------------------------------------------------------------
    def _order(self, c: Customer, d: int, coupon: str | None) -> None:
        rng = c.rng
        channel = c.pref_channel if rng.random() < 0.7 else rng.choice(ORDER_CHANNELS)
        if channel == "store" and c.store_id is None and rng.random() < 0.7:
            channel = "web"
        store_id = (c.store_id or rng.choice(text.STORES)[0]) if channel == "store" else None
        ts = self.at(d, rng, store=channel == "store")
        today = self.dates[d]
        x = d / self.days
        basket = 1.0 - 0.45 * x if c.archetype == "declining" else 1.0
        n_lines = rng.choices((1, 2, 3, 4), weights=(55, 28, 12, 5))[0]
        if basket < 1.0 and rng.random() > basket:
            n_lines = 1
        sale = season.is_sale_season(today)
        lines = []
        for i in range(n_lines):
            if rng.random() < 0.6:
                pool = [p for p in text.PRODUCTS if p[2] in c.fav_categories]
            else:
                pool = list(text.PRODUCTS)
            if basket < 1.0 and rng.random() > basket:
                pool = [p for p in pool if p[3] <= 200] or pool
            pid, _, _, price = rng.choice(pool)
            qty = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
            unit = price * 100
            pct = 0.0
            if sale and rng.random() < (0.75 if c.price_sensitive else 0.5):
                pct = rng.choice((0.1, 0.15, 0.2, 0.3))
            elif rng.random() < (0.3 if c.price_sensitive else 0.12):
                pct = rng.choice((0.05, 0.1, 0.15))
            discount = int(round(unit * qty * pct))
            if coupon and i == 0:
                discount = min(unit * qty, discount + 5_000)
            lines.append((pid, qty, unit, discount))
        order = Order(c, c.customer_id, ts, channel, store_id, lines, c.next_seq())
        self.orders.append(order)
        if coupon is None and rng.random() < self.faults.orphan_reference:
            order.customer_id = self._orphan_customer_id(rng)
            order.customer = None
            order.orphan = True
            return
        order.late_days = self._late(rng, ts)
        if rng.random() < 0.025:
            order.add_status(ts + rng.randint(1_800, 30 * HOUR), "cancelled")
        elif rng.random() < 0.03:
            order.add_status(ts + rng.randint(3, 20) * DAY + rng.randrange(DAY), "refunded")
        cancelled = order.final_status(ts + 4 * DAY) == "cancelled"
        c.last_order_ts = ts
        if not cancelled:
            c.spend.append((ts, order))
            c.window_spend_cents += order.total_cents
        if coupon is not None:
            self._redeem_coupon(c, coupon, ts)
        if c.membership is None and rng.random() < 0.4:
            self._join(c, ts + rng.randint(60, 1800), "joined_at_first_order")
        if self._is_member(c, ts) and not cancelled:
            c.ledger_intents.append((ts + rng.randint(1, 4) * DAY + rng.randrange(DAY), c.next_seq(), "purchase", order))
            c.ledger_intents.append((ts, c.next_seq(), "redeem", order))
        if not c.spend_milestone_done and c.window_spend_cents >= 500_000 and self._is_member(c, ts):
            c.spend_milestone_done = True
            self._contact(c, "milestone", ts + rng.randint(1, 3) * DAY, "CMP-MILESTONE-SPEND")
        phase = 1.0
        if c.archetype == "churning" and x > c.churn_x - 0.3:
            phase = 2.5
        elif c.archetype == "declining":
            phase = 1.0 + 1.5 * x
        p_ticket = 0.05 * (3.0 if c.complainer else 1.0) * phase * (1.3 if self.demand[d] > season.PEAK_DEMAND else 1.0)
        if rng.random() < p_ticket:
            self._ticket(c, ts + rng.randint(1, 8) * DAY + rng.randrange(DAY), order)
        if not cancelled and rng.random() < 0.15:
            self._response(c, ts + rng.randint(2, 8) * DAY + rng.randrange(DAY), "post_purchase", order=order)
        if c.handle and rng.random() < (0.3 if c.advocate else 0.04):
            self._post(c, ts + rng.randint(1, 10) * DAY + rng.randrange(DAY), order)

    def _late(self, rng: random.Random, ts: int) -> int:
        """Days the first delivery of a new record is delayed (0 = on time)."""
        if rng.random() >= self.faults.late_arrival:
            return 0
        k = rng.randint(2, 10)
        day = self.day_of(ts)
        if day < 0 or day + k >= self.days:
            return 0
        return k

    # -- tickets ------------------------------------------------------------------------
    def _ticket(self, c: Customer, ts: int, order: Order | None) -> None:
        if ts >= self.end_ts:
            return
        rng = c.rng
        if order is not None:
            category = _pick(rng, (("delivery", 30), ("product_quality", 25), ("refund", 10), ("billing", 10),
                                   ("service_attitude", 5), ("product_inquiry", 10), ("membership", 10)))
        else:
            category = _pick(rng, (("account", 35), ("product_inquiry", 35), ("membership", 15),
                                   ("service_attitude", 10), ("billing", 5)))
        complaint_cat = category in text.COMPLAINT_CATEGORIES
        is_complaint = rng.random() < (0.85 if complaint_cat else 0.05)
        severity = _pick(rng, SEVERITIES if not is_complaint else
                         (("low", 25), ("medium", 38), ("high", 27), ("critical", 10)))
        channel = _pick(rng, TICKET_CHANNELS)
        lang = c.lang
        subject = rng.choice(text.TICKET_CATEGORIES[category][lang])
        description = subject + ("。" if lang == "zh" else ". ") + rng.choice(text.TICKET_DETAIL[lang])
        t = Ticket(c.customer_id, ts, channel, category, severity, is_complaint, subject, description, c.next_seq())
        if order is not None and rng.random() < 0.5:
            t.order = order  # quoted in the description once order ids are assigned
            t.lang = lang
        self.tickets.append(t)
        if rng.random() < self.faults.orphan_reference:
            t.customer_id = self._orphan_customer_id(rng)
            t.orphan = True
        else:
            t.late_days = self._late(rng, ts)
        peak = 0 <= self.day_of(ts) < self.days and self.demand[self.day_of(ts)] > season.PEAK_DEMAND
        fr_target = _rules().first_response_target_hours[severity]
        fr_h = fr_target * math.exp(rng.gauss(math.log(0.35), 0.9)) * (1.6 if peak else 1.0) * \
            (1.4 if channel == "email" else 1.0)
        fr_ts = ts + max(60, int(fr_h * HOUR))
        t.events.append((fr_ts, {"first_response_at": fr_ts}))
        breach_fr = fr_h > fr_target
        own = not t.orphan
        if breach_fr and own:
            c.shocks.append((fr_ts, -0.6))
        if rng.random() < 0.04:
            return  # still open: no resolution in sight
        res_target = _rules().resolution_target_hours[severity]
        res_h = res_target * math.exp(rng.gauss(math.log(0.4), 0.9)) * (1.3 if peak else 1.0)
        res_ts = fr_ts + max(600, int(res_h * HOUR))
        breach_res = (res_ts - ts) > res_target * HOUR
        compensation = None
        if is_complaint and (severity in ("high", "critical") or category == "product_quality") and rng.random() < 0.45:
            compensation = rng.choice((20, 30, 50, 80, 100, 150, 200, 300)) * 100
        t.events.append((res_ts, {"resolved_at": res_ts, "compensation_amount": compensation}))
        if own:
            if breach_res:
                c.shocks.append((res_ts, -0.4))
            if compensation:
                c.shocks.append((res_ts, 0.3))
            if order is not None and category in ("product_quality", "refund") and is_complaint and rng.random() < 0.5:
                order.add_status(res_ts + rng.randint(60, 4 * HOUR), "refunded")
        reopened = rng.random() < (0.15 if c.complainer else 0.07)
        last_res = res_ts
        if reopened:
            re_ts = res_ts + rng.randint(1, 7) * DAY + rng.randrange(DAY)
            t.events.append((re_ts, {"reopen_count": 1, "resolved_at": None, "csat_after_resolution": None}))
            last_res = re_ts + rng.randint(HOUR, 4 * DAY)
            t.events.append((last_res, {"resolved_at": last_res}))
            if own:
                c.shocks.append((re_ts, -0.4))
        csat = None
        if rng.random() < 0.65:
            s = self.sat(c, last_res) if own else 0.0
            csat = _clip(3.8 + 0.6 * s - 1.0 * breach_fr - 0.8 * breach_res - 0.9 * reopened
                         + 0.5 * bool(compensation) + rng.gauss(0, 0.7), 1, 5)
            t.events.append((last_res + rng.randint(600, 2 * DAY), {"csat_after_resolution": csat}))
        if not own:
            return
        if ((csat is not None and csat <= 2) or (severity == "critical" and is_complaint)) and rng.random() < 0.7:
            self._contact(c, "care_call", last_res + rng.randint(HOUR, 3 * DAY),
                          f"CMP-CARE-{_local_date(last_res)[:7].replace('-', '')}")
        if rng.random() < 0.3:
            self._response(c, last_res + rng.randint(HOUR, 3 * DAY), "support",
                           context={"breach": breach_fr or breach_res, "reopened": reopened,
                                    "compensated": bool(compensation), "channel": channel})
        bad = breach_fr or reopened or (csat is not None and csat <= 2)
        if c.handle and bad and rng.random() < (0.5 if c.complainer else 0.25):
            self._post(c, fr_ts + rng.randint(HOUR, 2 * DAY), None, sentiment="negative")

    # -- campaigns ----------------------------------------------------------------------
    def _contact(self, c: Customer, kind: str, ts: int, campaign_id: str) -> None:
        if ts >= self.end_ts or ts < self.start_ts:
            return
        rng = c.rng
        channel = {"win_back_coupon": ("sms", "email", "app_push", "wechat"), "care_call": ("phone",),
                   "surprise": ("mail", "app_push", "sms"), "milestone": ("app_push", "email", "wechat")}[kind]
        coupon = None
        if kind == "win_back_coupon":
            coupon = "WB" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
        elif kind in ("surprise", "milestone") and rng.random() < 0.4:
            coupon = "GF" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
        contact = Contact(c.customer_id, campaign_id, kind, rng.choice(channel), ts, coupon, c.next_seq())
        self.contacts.append(contact)
        if kind == "win_back_coupon":
            c.last_win_back_contact = ts
            p = {"won_back": 0.75, "churning": 0.08, "declining": 0.25, "loyal": 0.5, "one_time": 0.05}.get(c.archetype, 0.2)
            if c.archetype == "won_back" and c.won_back_day is not None:
                p = 0.2
            if rng.random() < p:
                day = self.day_of(ts) + rng.randint(2, 20)
                if day < self.days and day not in c.forced_orders:
                    # The response time is set when the coupon order happens.
                    c.forced_orders[day] = str(contact.seq)
                    if c.archetype == "won_back":
                        c.won_back_day = day
                    return
            roll = rng.random()
            if roll < 0.15:
                contact.response = (ts + rng.randint(HOUR, 3 * DAY), True, rng.choice(("not_interested", "unsubscribed")))
            else:
                contact.response = (ts + 21 * DAY, False, "no_response")
        elif kind == "care_call":
            roll = rng.random()
            if roll < 0.5:
                contact.response = (ts + rng.randint(120, 1_800), True, "appreciated")
                c.shocks.append((ts, 0.4))
            elif roll < 0.75:
                contact.response = (ts + rng.randint(120, 1_800), True, "still_unhappy")
            else:
                contact.response = (ts + rng.randint(HOUR, 2 * DAY), False, "not_reached")
        else:
            c.shocks.append((ts, 0.4))
            roll = rng.random()
            if roll < 0.15:
                contact.response = (ts + rng.randint(HOUR, 5 * DAY), True, "shared_on_social")
                if c.handle:
                    self._post(c, contact.response[0] + rng.randint(60, HOUR), None, sentiment="positive")
            elif roll < 0.6:
                contact.response = (ts + rng.randint(HOUR, 5 * DAY), True, "thanked")
            else:
                contact.response = (ts + 14 * DAY, False, "no_response")

    def _redeem_coupon(self, c: Customer, contact_seq: str, ts: int) -> None:
        for contact in reversed(self.contacts):
            if contact.customer_id == c.customer_id and str(contact.seq) == contact_seq:
                contact.response = (ts, True, "coupon_redeemed")
                return

    def _win_back_run(self, c: Customer, d: int) -> None:
        """Monthly win-back: opted-in customers silent for 90+ days get a coupon (twice a year at most)."""
        if c.last_order_ts is None or c.archetype == "prospect":
            return
        now = self.day_start(d)
        if now - c.last_order_ts < WIN_BACK_AFTER_DAYS * DAY:
            return
        if c.last_win_back_contact is not None and now - c.last_win_back_contact < WIN_BACK_COOLDOWN_DAYS * DAY:
            return
        if not c.profile["marketing_opt_in"]:
            return
        self._contact(c, "win_back_coupon", now + 10 * HOUR + c.rng.randrange(8 * HOUR),
                      f"CMP-WB-{self.dates[d]:%Y%m}")

    # -- membership ---------------------------------------------------------------------
    def _tier_review(self, c: Customer, d: int) -> None:
        m = c.membership
        now = self.day_start(d) + 3 * HOUR
        if m is None or m.joined_ts >= now:
            return
        elapsed = d
        spend = c.hist_annual_spend * max(0, 365 - elapsed) / 365
        spend += sum(o.total_cents for ts, o in c.spend
                     if now - 365 * DAY < ts <= now and o.final_status(now) == "paid") / 100
        target = _tier_for(spend)
        order_ = text.TIERS.index
        quarter = self.dates[d].month in (1, 4, 7, 10)
        if order_(target) > order_(m.tier):
            reason = "spend_upgrade"
        elif quarter and order_(target) < order_(m.tier) and spend < 0.65 * _rules().tier_threshold(m.tier):
            reason = "quarterly_review_downgrade"
        else:
            return
        self.tier_changes.append(TierChange(c.customer_id, m.tier, target, now, reason, c.next_seq()))
        m.tier = target
        m.versions.append((now, target, now))
        if reason == "spend_upgrade" and c.rng.random() < 0.8:
            self._contact(c, "milestone", now + 6 * HOUR + c.rng.randrange(6 * HOUR), "CMP-MILESTONE-TIER")

    def _process_ledger(self, c: Customer) -> None:
        """Turn the customer's points intents into ledger entries: earn, redeem, expire (FIFO)."""
        if c.membership is None:
            return
        rng = c.rng
        lots: list[list[int]] = []  # [expires_ts, remaining]
        balance = 0
        intents = sorted(c.ledger_intents, key=lambda i: (i[0], i[1]))

        def expire_until(ts: int) -> None:
            nonlocal balance
            while lots and lots[0][0] <= ts:
                exp_ts, remaining = lots.pop(0)
                if remaining > 0:
                    balance -= remaining
                    self._ledger(c, "expire", "validity_period", -remaining, None, exp_ts, None)

        for ts, _, kind, order in intents:
            if ts >= self.end_ts:
                break
            expire_until(ts)
            tier = _tier_at(c.membership, ts)
            if kind == "redeem":
                if balance >= 500 and rng.random() < (0.7 if c.price_sensitive else 0.45):
                    pts = min(2_000, balance // 500 * 500)
                    _consume(lots, pts)
                    balance -= pts
                    self._ledger(c, "redeem", rng.choice(("coupon", "coupon", "gift", "service_upgrade")),
                                 -pts, order, ts, None)
                continue
            if kind == "purchase":
                if order.final_status(ts) != "paid":
                    continue
                pts = int(order.total_cents / 100 * TIER_MULTIPLIER[tier])
                reason = "purchase"
            elif kind == "referral":
                pts, reason = 300, "referral"
            else:  # birthday, survey: taking part in activities
                pts, reason = (100 if kind == "birthday" else 20), "activity"
            if pts <= 0:
                continue
            expires = ts + _rules().points_validity_days * DAY
            lots.append([expires, pts])
            lots.sort(key=lambda lot: lot[0])
            balance += pts
            self._ledger(c, "earn", reason, pts, order if kind == "purchase" else None, ts, expires)
        expire_until(self.end_ts - 1)

    def _ledger(self, c: Customer, entry_type: str, reason: str, points: int, order: Order | None,
                ts: int, expires: int | None) -> None:
        if not self.in_window(ts):
            return
        e = LedgerEntry(c.customer_id, entry_type, reason, points, order, ts, expires, c.next_seq())
        e.late_days = self._late(c.rng, ts)
        self.ledger.append(e)

    # -- surveys ------------------------------------------------------------------------
    def _response(self, c: Customer | None, ts: int, kind: str, *, order: Order | None = None,
                  context: dict[str, Any] | None = None, survey_id: str | None = None,
                  rng: random.Random | None = None, email: str | None = None) -> None:
        if ts >= self.end_ts or ts < self.start_ts:
            return
        rng = rng or (c.rng if c else None)
        if rng is None:
            raise ValueError("a response without a customer needs the caller's random generator")
        context = context or {}
        s = (self.sat(c, ts) if c else rng.gauss(0.3, 0.8)) + rng.gauss(0, 0.5)
        lang = (c.lang if c else ("zh" if rng.random() < 0.8 else "en"))
        if rng.random() < 0.05:
            lang = "en" if lang == "zh" else "zh"
        shock = {k: 0.0 for k in DRIVERS}
        if context.get("breach"):
            shock["service"] -= 1.5
            shock["convenience"] -= 0.5
        if context.get("reopened"):
            shock["service"] -= 0.8
            shock["product"] -= 0.5
        if context.get("compensated"):
            shock["relationship"] += 0.7
        if c is not None and c.price_sensitive:
            shock["price"] -= 0.8
        if order is not None and order.final_status(ts) == "refunded":
            shock["product"] -= 1.5
        drivers = {k: _clip(4.4 + 1.0 * s + shock[k] + rng.gauss(0, 0.8), 1, 7) for k in DRIVERS}
        z = sum(DRIVER_WEIGHTS[k] * (drivers[k] - 4.4) for k in DRIVERS)
        nps = _clip(7.5 + 1.45 * z + rng.gauss(0, 1.0), 0, 10)
        csat = _clip(3.6 + 0.55 * z + 0.2 * s + rng.gauss(0, 0.6), 1, 5)
        ces = _clip(3.3 - 0.8 * (drivers["convenience"] - 4.4) + (1.0 if context.get("breach") else 0.0)
                    + rng.gauss(0, 0.9), 1, 7)
        servqual = {}
        for dim in SERVQUAL:
            expectation = _clip(rng.gauss(5.9, 0.8), 1, 7)
            dim_shock = 0.0
            if dim == "responsiveness" and context.get("breach"):
                dim_shock -= 1.2
            if dim == "reliability" and (context.get("reopened") or shock["product"] < -1):
                dim_shock -= 0.8
            if dim == "empathy" and context.get("compensated"):
                dim_shock += 0.5
            servqual[dim] = (expectation, _clip(expectation - 0.7 + 0.85 * s + dim_shock + rng.gauss(0, 0.8), 1, 7))
        value = {
            "functional": _clip(0.5 * drivers["product"] + 0.5 * drivers["price"] + rng.gauss(0, 0.6), 1, 7),
            "emotional": _clip(0.5 * drivers["brand"] + 0.5 * drivers["relationship"] + rng.gauss(0, 0.6), 1, 7),
            "social": _clip(0.7 * drivers["brand"] + 0.3 * drivers["relationship"] - 0.3 + rng.gauss(0, 0.7), 1, 7),
        }
        asks = {
            "post_purchase": {"nps", "csat", "ces", "drivers", "value"},
            "support": {"nps", "csat", "ces", "sq_responsiveness", "sq_assurance", "sq_empathy", "driver_service"},
            "relational": {"nps", "servqual", "value", "drivers"},
            "web_intercept": {"ces", "csat"} | ({"nps"} if rng.random() < 0.5 else set()),
        }[kind]
        row: dict[str, Any] = {}

        def ask(name: str, question: str, value_: int) -> None:
            if question in asks and rng.random() > 0.03:
                row[name] = value_

        ask("nps", "nps", nps)
        ask("csat", "csat", csat)
        ask("ces", "ces", ces)
        for dim in SERVQUAL:
            q = "servqual" if "servqual" in asks else f"sq_{dim}"
            ask(f"servqual_{dim}_expectation", q, servqual[dim][0])
            ask(f"servqual_{dim}_perception", q, servqual[dim][1])
        for k, v in value.items():
            ask(f"value_{k}", "value", v)
        for k in DRIVERS:
            ask(f"driver_{k}", "drivers" if "drivers" in asks else f"driver_{k}", drivers[k])
        score = nps if "nps" in row else (9 if csat >= 5 else 7 if csat == 4 else 4)
        sentiment = "positive" if score >= 9 else "neutral" if score >= 7 else "negative"
        if rng.random() < (0.55 if sentiment == "negative" else 0.4):
            ranked = sorted(DRIVERS, key=lambda k: (drivers[k], DRIVERS.index(k)))
            topic = ranked[-1] if sentiment == "positive" else ranked[0] if sentiment == "negative" else rng.choice(DRIVERS)
            if kind == "support" and sentiment != "neutral":
                topic = "service"
            comment = rng.choice(text.COMMENTS[lang][sentiment][topic])
            if rng.random() < 0.7:
                comment += " " + "".join(rng.choice(text.EMOJI[sentiment]) for _ in range(rng.randint(1, 2)))
            row["comment"] = comment.strip()
        survey_channel, touchpoint, stage = self._survey_context(rng, kind, order, context)
        customer_id = email_value = None
        fault = None
        if c is not None:
            roll = rng.random()
            if survey_channel == "app":
                roll = 0.5 + roll * 0.35  # logged in: the customer id is known
            use_email = roll < 0.70 and c.email is not None
            use_id = 0.45 <= roll < 0.85 or (roll < 0.70 and c.email is None)
            if use_email:
                email_value = _profile_at(c, ts)["email"] if rng.random() < 0.5 else c.email
                if email_value is not None and rng.random() < self.faults.email_case:
                    email_value = email_variant(email_value, rng)
                    fault = "email_case"
            if use_id:
                customer_id = c.customer_id
        elif email is not None:
            email_value = email
        for _ in range(10):
            response_id = f"R{rng.getrandbits(60):015x}"
            if self._free("response", self._response_ids, response_id):
                break
        self._response_ids.add(response_id)
        row.update({
            "response_id": response_id,
            "survey_id": survey_id or {"post_purchase": "SV-POSTPURCHASE-V3", "support": "SV-SUPPORT-V2",
                                       "web_intercept": "SV-WEB-INTERCEPT"}[kind],
            "submitted_at": ts,
            "respondent_email": email_value,
            "respondent_customer_id": customer_id,
            "channel": survey_channel,
            "touchpoint": touchpoint,
            "journey_stage": stage,
            "language": lang,
        })
        inst = Instance("survey.responses", (response_id,), [(ts, row)], ts, fault=fault)
        if fault is None:
            inst.late_days = self._late(rng, ts)
            if inst.late_days:
                inst.fault = "late_arrival"
        self.responses.append(inst)
        if c is not None and self._is_member(c, ts):
            c.ledger_intents.append((ts + rng.randint(60, HOUR), c.next_seq(), "survey", None))

    @staticmethod
    def _survey_context(rng: random.Random, kind: str, order: Order | None,
                        context: dict[str, Any]) -> tuple[str, str, str]:
        if kind == "post_purchase":
            channel = _pick(rng, (("email", 35), ("sms", 25), ("app", 25), ("wechat", 15)))
            if order is not None and order.channel == "store":
                return channel, "store_visit", "in_sale"
            if rng.random() < 0.5:
                return channel, "delivery", "after_sale"
            return channel, {"web": "website", "app": "app", "phone": "hotline"}.get(order.channel if order else "web",
                                                                                   "website"), "in_sale"
        if kind == "support":
            channel = _pick(rng, (("email", 40), ("sms", 30), ("app", 20), ("wechat", 10)))
            via = context.get("channel", "phone")
            return channel, {"phone": "hotline", "store": "store_visit", "social": "social_media"}.get(
                via, "customer_service"), "after_sale"
        if kind == "relational":
            return _pick(rng, (("email", 60), ("app", 25), ("wechat", 15))), "relationship", rng.choice(
                ("pre_sale", "in_sale", "after_sale"))
        return _pick(rng, (("web", 55), ("app", 30), ("store_kiosk", 15))), rng.choice(
            ("website", "app", "store_visit", "live_chat")), "pre_sale"

    # -- social -------------------------------------------------------------------------
    def _post(self, c: Customer, ts: int, order: Order | None, sentiment: str | None = None) -> None:
        if c.handle is None or c.platform is None:
            return
        rng = c.rng
        if sentiment is None:
            s = self.sat(c, ts) + (0.8 if c.advocate else 0.0) + rng.gauss(0, 0.5)
            sentiment = "positive" if s > 0.5 else "negative" if s < -0.5 else "neutral"
        product = None
        if order is not None:
            product = next(p[1] for p in text.PRODUCTS if p[0] == order.lines[0][0])
        lang = "en" if c.platform in ("x", "instagram") and (c.lang == "en" or rng.random() < 0.5) else c.lang
        self._mention(rng, c.platform, c.handle, c.followers, ts, sentiment, lang, product)

    def _mention(self, rng: random.Random, platform: str, handle: str, followers: int, ts: int, sentiment: str,
                 lang: str, product: str | None = None, reply_to: str | None = None,
                 body: str | None = None, reach: float | None = None) -> str | None:
        if ts >= self.end_ts or ts < self.start_ts:
            return None
        post_id = self._post_id(rng, platform)
        if body is None:
            template = rng.choice(text.POSTS[lang][sentiment])
            prod = product or rng.choice(text.PRODUCTS)[1]
            prod = prod.split(" ", 1)[0] if lang == "zh" else prod.split(" ", 1)[1]
            body = template.format(brand=text.BRAND_ZH if lang == "zh" else text.BRAND_EN, product=prod)
            if rng.random() < 0.75:
                body += " " + "".join(rng.choice(text.EMOJI[sentiment]) for _ in range(rng.randint(1, 3)))
            if rng.random() < 0.3:
                body += " #" + (text.BRAND_ZH if lang == "zh" else text.BRAND_EN)
        if reach is None:
            reach = max(1.0, followers) * rng.uniform(0.005, 0.06)
        likes = int(reach * math.exp(rng.gauss(0, 0.8)))
        shares = int(likes * rng.uniform(0, 0.25) * (1.6 if sentiment == "negative" else 1.0))
        replies = int(likes * rng.uniform(0.02, 0.2))
        brand_replied = False
        if not handle == text.BRAND_HANDLES[platform]:
            p_reply = 0.65 if sentiment == "negative" else 0.1 if sentiment == "positive" else 0.05
            if rng.random() < p_reply:
                brand_replied = True
                reply_ts = ts + int(math.exp(rng.gauss(math.log(3 * HOUR), 1.0)))
                pool = text.BRAND_REPLIES if sentiment == "negative" else text.BRAND_THANKS
                # A reply is seen by the thread, not by all the brand's followers.
                self._mention(rng, platform, text.BRAND_HANDLES[platform], BRAND_FOLLOWERS[platform], reply_ts,
                              "neutral", lang, reply_to=post_id, body=rng.choice(pool[lang]),
                              reach=max(10, likes))
                replies += 1
        row = {
            "platform": platform,
            "post_id": post_id,
            "author_handle": handle,
            "author_followers": followers,
            "posted_at": ts,
            "text": body.strip(),
            "language": lang,
            "likes": likes,
            "shares": shares,
            "replies": replies,
            "reply_to_post_id": reply_to,
            "brand_replied": brand_replied,
        }
        inst = Instance("social.mentions", (platform, post_id), [(ts, row)], ts)
        inst.late_days = self._late(rng, ts)
        if inst.late_days:
            inst.fault = "late_arrival"
        self.mentions.append(inst)
        self._posts_by_day.setdefault((platform, self.day_of(ts)), []).append((ts, post_id))
        return post_id

    def _post_id(self, rng: random.Random, platform: str) -> str:
        for _ in range(20):
            if platform == "weibo":
                pid = str(rng.randint(5_000_000_000_000_000, 5_999_999_999_999_999))
            elif platform == "wechat":
                pid = "wx" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(20))
            elif platform == "xiaohongshu":
                pid = f"{rng.getrandbits(96):024x}"
            elif platform == "douyin":
                pid = str(rng.randint(7_000_000_000_000_000_000, 7_499_999_999_999_999_999))
            elif platform == "x":
                pid = str(rng.randint(1_800_000_000_000_000_000, 1_999_999_999_999_999_999))
            else:
                pid = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
                              for _ in range(11))
            if (platform, pid) not in self._post_ids and not self.taken.has("post", f"{platform}:{pid}"):
                self._post_ids.add((platform, pid))
                return pid
        raise RuntimeError("could not draw a unique post id")

    # -- the crowd: people who are not (identifiably) in the CRM -------------------------
    def _simulate_crowd(self) -> None:
        rng = random.Random(f"{self.seed}:crowd" + (f":{self.shard.index}" if self.shard.index else ""))
        prospects = [c for c in self.customers if c.email and c.archetype == "prospect"]
        others = [c for c in self.customers if c.email]
        all_platforms = CN_PLATFORMS + (("x", 12), ("instagram", 12))
        for d in range(self.days):
            demand = self.demand[d]
            # Website / store intercept surveys, mostly anonymous.
            for _ in range(_poisson(rng, self.n_customers * 0.0006 * demand)):
                ts = self.at(d, rng)
                roll = rng.random()
                if roll < 0.2 and prospects:
                    c = rng.choice(prospects)
                    self._response(c, ts, "web_intercept", rng=rng)
                elif roll < 0.3 and others:
                    self._response(rng.choice(others), ts, "web_intercept", rng=rng)
                elif roll < 0.45:
                    unknown = f"visitor{rng.randint(1000, 99999)}@{rng.choice(text.ZH_EMAIL_DOMAINS)}"
                    self._response(None, ts, "web_intercept", rng=rng, email=unknown)
                else:
                    self._response(None, ts, "web_intercept", rng=rng)
            # Social mentions by people we cannot match to a customer.
            for _ in range(_poisson(rng, self.n_customers * 0.004 * demand)):
                ts = self.at(d, rng)
                platform = _pick(rng, all_platforms)
                lang = "en" if platform in ("x", "instagram") and rng.random() < 0.8 else "zh"
                roll = rng.random()
                sentiment = "positive" if roll < 0.5 else "neutral" if roll < 0.83 else "negative"
                influencer = rng.random() < (0.1 if demand > season.PEAK_DEMAND else 0.02)
                followers = (rng.randint(50_000, 2_000_000) if influencer
                             else int(min(2_000_000, math.exp(rng.gauss(math.log(200), 1.4)))))
                if lang == "zh" and rng.random() < 0.6:
                    handle = f"@{rng.choice(text.ZH_HANDLE_WORDS)}{rng.randint(1, 99999)}"
                else:
                    handle = f"@{rng.choice(text.HANDLE_WORDS)}_{rng.choice(text.HANDLE_WORDS)}{rng.randint(1, 9999)}"
                reply_to = None
                if rng.random() < 0.12:
                    candidates = [p for back in (0, 1, 2) for p in self._posts_by_day.get((platform, d - back), [])
                                  if p[0] < ts]
                    if candidates:
                        reply_to = rng.choice(candidates)[1]
                self._mention(rng, platform, handle, followers, ts, sentiment, lang, reply_to=reply_to)

    # -- identifiers --------------------------------------------------------------------
    def _assign_ids(self) -> None:
        """Number business objects in time order, as the source systems would have.

        A shard's numbers continue after the earlier shards' (so ids stay unique across the
        world); in time order within the shard.
        """
        def key(obj: Any) -> tuple[int, str, int]:
            return (obj.ts, obj.customer_id, obj.seq)

        numbering = self.shard.numbering
        per_day = numbering.orders_per_day
        for o in sorted(self.orders, key=key):
            day = _local_date(o.ts).replace("-", "")
            per_day[day] = per_day.get(day, 0) + 1
            o.order_id = f"SO{day}{per_day[day]:05d}"
        for n, t in enumerate(sorted(self.tickets, key=key), start=numbering.tickets + 1):
            t.ticket_id = f"TK{n:07d}"
        for n, ct in enumerate(sorted(self.contacts, key=key), start=numbering.contacts + 1):
            ct.contact_id = f"CC{n:07d}"
        for n, e in enumerate(sorted(self.ledger, key=key), start=numbering.ledger + 1):
            e.entry_id = f"PL{n:08d}"
        for n, tc in enumerate(sorted(self.tier_changes, key=key), start=numbering.tier_changes + 1):
            tc.tier_change_id = f"TC{n:06d}"
        numbering.tickets += len(self.tickets)
        numbering.contacts += len(self.contacts)
        numbering.ledger += len(self.ledger)
        numbering.tier_changes += len(self.tier_changes)

    # -- rows ---------------------------------------------------------------------------
    def instances(self, entity: str) -> list[Instance]:
        """One entity's business objects with their versions (``entity`` is ``source.entity``,
        one of :data:`ENTITIES`).

        Built one entity at a time, on demand: the rows of every entity at once are about as
        large as the simulated world itself.
        """
        build: dict[str, Callable[[], list[Instance]]] = {
            "crm.customers": self._customer_rows, "crm.orders": self._order_rows,
            "crm.order_lines": self._order_line_rows, "crm.tickets": self._ticket_rows,
            "crm.memberships": self._membership_rows, "crm.tier_changes": self._tier_change_rows,
            "crm.points_ledger": self._ledger_rows, "crm.campaign_contacts": self._contact_rows,
            "survey.responses": lambda: self.responses, "social.mentions": lambda: self.mentions,
        }
        if entity not in build:
            raise KeyError(f"the model has no entity {entity!r}")
        return build[entity]()

    def release(self, entity: str) -> None:
        """Drop the objects only ``entity``'s rows are built from, once they are planned.

        A shard's plans and its world together are its peak memory; what is released here no
        longer counts twice. Orders and customers stay: several entities are built from them.
        :meth:`instances` of a released entity is empty.
        """
        if entity == "survey.responses":
            self.responses = []
        elif entity == "social.mentions":
            self.mentions = []
            self._posts_by_day = {}
        elif entity == "crm.tickets":
            self.tickets = []
        elif entity == "crm.points_ledger":
            self.ledger = []
        elif entity == "crm.campaign_contacts":
            self.contacts = []
        elif entity == "crm.tier_changes":
            self.tier_changes = []

    def discard(self) -> None:
        """Let go of everything simulated (the rows are planned): the next shard starts from nothing."""
        for entity in ENTITIES:
            self.release(entity)
        self.customers, self.orders, self.memberships = [], [], []
        self._post_ids, self._emails, self._handles, self._response_ids = set(), set(), set(), set()

    def _customer_rows(self) -> list[Instance]:
        out = []
        for c in self.customers:
            versions = [(ts, {**p, "updated_at": ts}) for ts, p in c.profile_versions]
            out.append(Instance("crm.customers", (c.customer_id,), versions, c.signup_ts))
        return out

    def _order_rows(self) -> list[Instance]:
        out = []
        for o in self.orders:
            rows = [(o.ts, "paid")] + sorted(o.status_events)
            versions = []
            for ts, status in rows:
                versions.append((ts, {
                    "order_id": o.order_id, "customer_id": o.customer_id, "ordered_at": o.ts, "channel": o.channel,
                    "store_id": o.store_id, "status": status, "currency": "CNY",
                    "order_total": Money(o.total_cents), "discount_total": Money(o.discount_cents), "updated_at": ts,
                }))
            fault = "orphan_reference" if o.orphan else "late_arrival" if o.late_days else None
            out.append(Instance("crm.orders", (o.order_id,), versions, o.ts, o.late_days, fault))
        return out

    def _order_line_rows(self) -> list[Instance]:
        out = []
        for o in self.orders:
            for n, (pid, qty, unit, disc) in enumerate(o.lines, start=1):
                name, category = _PRODUCT_NAMES[pid]
                out.append(Instance("crm.order_lines", (o.order_id, n), [(o.ts, {
                    "order_id": o.order_id, "line_number": n, "product_id": pid, "product_name": name,
                    "category": category, "quantity": qty, "unit_price": Money(unit), "discount": Money(disc),
                    "updated_at": o.ts,
                })], o.ts, o.late_days))
        return out

    def _ticket_rows(self) -> list[Instance]:
        out = []
        for t in self.tickets:
            state: dict[str, Any] = {
                "ticket_id": t.ticket_id, "customer_id": t.customer_id, "channel": t.channel, "category": t.category,
                "severity": t.severity, "is_complaint": t.is_complaint, "subject": t.subject,
                "description": t.description + (
                    "" if t.order is None else f" ({'订单号' if t.lang == 'zh' else 'order'} {t.order.order_id})"),
                "created_at": t.ts, "first_response_at": None, "resolved_at": None,
                "reopen_count": 0, "csat_after_resolution": None, "compensation_amount": None, "updated_at": t.ts,
            }
            versions = [(t.ts, dict(state))]
            last = t.ts
            for ts, changes in sorted(t.events, key=lambda e: e[0]):
                ts = max(ts, last + 1)
                last = ts
                for k, v in changes.items():
                    if k == "compensation_amount":
                        v = Money(v) if v is not None else None
                    if k == "reopen_count":
                        v = state["reopen_count"] + 1
                    state[k] = v
                state["updated_at"] = ts
                versions.append((ts, dict(state)))
            fault = "orphan_reference" if t.orphan else "late_arrival" if t.late_days else None
            out.append(Instance("crm.tickets", (t.ticket_id,), versions, t.ts, t.late_days, fault))
        return out

    def _membership_rows(self) -> list[Instance]:
        out = []
        for m in self.memberships:
            versions = [(ts, {"customer_id": m.customer_id, "member_number": m.member_number, "tier": tier,
                              "joined_at": m.joined_ts, "tier_since": since, "updated_at": ts})
                        for ts, tier, since in m.versions]
            out.append(Instance("crm.memberships", (m.customer_id,), versions, m.joined_ts))
        return out

    def _tier_change_rows(self) -> list[Instance]:
        return [Instance("crm.tier_changes", (tc.tier_change_id,), [(tc.ts, {
            "tier_change_id": tc.tier_change_id, "customer_id": tc.customer_id, "from_tier": tc.from_tier,
            "to_tier": tc.to_tier, "changed_at": tc.ts, "reason": tc.reason})], tc.ts) for tc in self.tier_changes]

    def _ledger_rows(self) -> list[Instance]:
        return [Instance("crm.points_ledger", (e.entry_id,), [(e.ts, {
            "entry_id": e.entry_id, "customer_id": e.customer_id, "entry_type": e.entry_type, "reason": e.reason,
            "points": e.points, "order_id": e.order.order_id if e.order else None, "created_at": e.ts,
            "expires_at": e.expires_ts})], e.ts, e.late_days, "late_arrival" if e.late_days else None)
            for e in self.ledger]

    def _contact_rows(self) -> list[Instance]:
        out = []
        for ct in self.contacts:
            base = {"contact_id": ct.contact_id, "customer_id": ct.customer_id, "campaign_id": ct.campaign_id,
                    "campaign_type": ct.campaign_type, "channel": ct.channel, "contacted_at": ct.ts,
                    "coupon_code": ct.coupon_code, "responded": False, "responded_at": None, "response": None,
                    "updated_at": ct.ts}
            versions = [(ct.ts, base)]
            if ct.response is not None and ct.response[0] > ct.ts:
                rts, responded, response = ct.response
                versions.append((rts, {**base, "responded": responded, "responded_at": rts if responded else None,
                                       "response": response, "updated_at": rts}))
            out.append(Instance("crm.campaign_contacts", (ct.contact_id,), versions, ct.ts))
        return out


_PRODUCT_NAMES = {p[0]: (p[1], p[2]) for p in text.PRODUCTS}
"""Product id -> (name, category): one look-up per order line instead of a search."""


class Money(int):
    """An amount in cents, written with two decimals and a '.' separator."""

    def __str__(self) -> str:
        sign = "-" if self < 0 else ""
        v = abs(int(self))
        return f"{sign}{v // 100}.{v % 100:02d}"

    __repr__ = __str__


def _profile_at(c: Customer, ts: int) -> dict[str, Any]:
    profile = c.profile_versions[0][1]
    for vts, p in c.profile_versions:
        if vts <= ts:
            profile = p
    return profile


def _tier_for(spend: float) -> str:
    return _rules().tier_for(spend)


@functools.cache
def _rules() -> BusinessRules:
    """Service targets, tier thresholds and points validity from config/business.yml, the
    same rules the marts measure against (read on first use, not at import)."""
    return load_business()


def _tier_at(m: Membership, ts: int) -> str:
    tier = m.versions[0][1]
    for vts, t, _ in m.versions:
        if vts <= ts:
            tier = t
    return tier


def _consume(lots: list[list[int]], points: int) -> None:
    for lot in lots:
        take = min(lot[1], points)
        lot[1] -= take
        points -= take
        if points == 0:
            return


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _local_date(ts: int) -> str:
    return _date_str((ts + LOCAL_OFFSET) // DAY)


_DATE_CACHE: dict[int, str] = {}


def _date_str(epoch_day: int) -> str:
    s = _DATE_CACHE.get(epoch_day)
    if s is None:
        s = (date(1970, 1, 1) + timedelta(days=epoch_day)).isoformat()
        _DATE_CACHE[epoch_day] = s
    return s


def format_ts(ts: int, utc: bool) -> str:
    """ISO 8601 with an explicit offset: ``...Z`` (UTC) or ``...+08:00`` (China time)."""
    if utc:
        day, secs = divmod(ts, DAY)
        suffix = "Z"
    else:
        day, secs = divmod(ts + LOCAL_OFFSET, DAY)
        suffix = "+08:00"
    h, rem = divmod(secs, HOUR)
    m, s = divmod(rem, 60)
    return f"{_date_str(day)}T{h:02d}:{m:02d}:{s:02d}{suffix}"
