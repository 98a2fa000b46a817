"""Sentiment of social mentions in Chinese and English, scored offline.

Brand monitoring needs one comparable number per post whatever its language, so every
mention gets a score in [-1, 1] and a label. Two lexicon/statistical analysers whose models
ship inside their wheels do the reading (nothing is downloaded at run time, so the task
works in an air-gapped warehouse):

* Chinese: SnowNLP's naive-Bayes sentiment model (trained on product reviews). It gives the
  probability ``p`` that the text is positive; the score is ``2p - 1``.
* English: VADER (Hutto & Gilbert 2014), a rule-based lexicon built for social media; the
  score is its ``compound`` value, already in [-1, 1].

Emoji carry much of the sentiment of a short post, but SnowNLP ignores them and VADER reads
them through their Unicode names, which gets common ones wrong (``💔`` "broken heart" scores
positive, ``😡`` and ``👎`` score zero). Emoji listed in :data:`EMOJI_POLARITY` are therefore
taken out of the text and scored from that table in both languages, then blended with the
text's score (see :func:`analyse`). Emoji not in the table are left to VADER.

Which analyser reads a post: the declared language (``zh*`` or ``en*``) when the text
contains that script; otherwise the script that dominates the text (see
:func:`resolve_language`). A mixed post is read by one analyser only (neither understands
the other language's words): its declared language's if that script appears in it at all,
else the dominant script's.

Measured on the generator's own labelled texts (every post and survey-comment template,
dressed as the generator dresses them; ``tests/unit/test_sentiment.py``), positive and
negative texts get the right label 86 % of the time (n = 760; Chinese negative 95 %,
Chinese positive 75 %, English positive 97 %, English negative 77 %), 76 % without their
emoji. On a simulated mention stream, where Chinese posts dominate, it is 78 %. Neutral
texts are the weak spot (29 % right in Chinese, 56 % in English): SnowNLP is confident on
short texts, and some words lean one way in its review corpus (店员, "store staff", is
strongly negative). Replies by the brand itself are scored like any post; an apology reads
negative, so brand-level aggregates should leave the brand's own handles out.

:func:`score_mentions` is the warehouse entry point: it reads
``staging.stg_social__mentions`` and replaces ``analytics.mention_sentiment``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from cx_warehouse.analytics.store import replace_table

log = logging.getLogger(__name__)

#: Scores at or above this are labelled ``positive``. VADER's authors suggest 0.05 for its
#: compound score, but SnowNLP's ``2p - 1`` is rarely near zero even for neutral text, so a
#: wider neutral band is used for both (0.25 is ``p >= 0.625`` for SnowNLP).
POSITIVE_THRESHOLD = 0.25
#: Scores at or below this are labelled ``negative``.
NEGATIVE_THRESHOLD = -0.25

#: Weight of the emoji in a post's score when the post has both emoji from
#: :data:`EMOJI_POLARITY` and text: the score is ``(1 - w) * text + w * emoji``.
EMOJI_WEIGHT = 0.5

#: Only this many characters of a text are read. Social posts are far shorter; the cap keeps
#: a pathological value (the loader lets 100k-character texts through) from costing minutes:
#: VADER needs about 18 s for 100k characters.
MAX_CHARS = 2000

#: Hand-assigned polarity of common sentiment-bearing emoji, in [-1, 1]. Coarse on purpose
#: (strong +-0.8, clear +-0.6, mild +-0.3/0.4); not from a published resource. Emoji whose
#: reading depends on the culture are left out: in Chinese social media ``🙂`` (微笑) is
#: mostly sarcastic, ``🙏`` is used for both thanks and apologies, ``😂``/``😅`` for anything.
#: Keys are single code points; variation selectors and skin tones are ignored when matching.
EMOJI_POLARITY: dict[str, float] = {
    # positive
    "😍": 0.8, "🥰": 0.8, "🤩": 0.8, "❤": 0.8, "💕": 0.7, "💖": 0.7, "💗": 0.7, "💓": 0.7,
    "😘": 0.6, "😊": 0.6, "😄": 0.6, "😁": 0.6, "😃": 0.5, "😀": 0.5, "☺": 0.5, "😋": 0.5,
    "🥳": 0.6, "👍": 0.6, "👏": 0.6, "🙌": 0.6, "💯": 0.6, "🎉": 0.5, "🌟": 0.4, "⭐": 0.4,
    "✨": 0.4, "💪": 0.4, "👌": 0.3,
    # negative
    "🤬": -0.9, "😡": -0.8, "🤮": -0.8, "😠": -0.7, "👎": -0.7, "💔": -0.7, "😤": -0.6,
    "😞": -0.6, "😢": -0.6, "😩": -0.6, "😫": -0.6, "💩": -0.6, "😒": -0.5, "🙄": -0.5,
    "😣": -0.5, "😖": -0.5, "😔": -0.5, "😭": -0.4, "😓": -0.4, "😰": -0.4, "🤡": -0.4,
}

MENTION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("platform", "text"),
    ("post_id", "text"),
    ("sentiment_score", "double precision"),
    ("sentiment_label", "text"),
    ("analyzer", "text"),
    ("scored_text_md5", "text"),
)

SCORER_VERSION = "1"
"""Bump when the analysers, emoji table or thresholds change: every mention is re-scored."""

# Mentions already scored from the same text by the same scorer version keep their score, so
# a daily run scores only new or edited mentions (scoring is the slow part, ~350 Chinese
# texts/s) while the table stays exactly what scoring everything would give.
PREVIOUS_QUERY = (
    "select platform, post_id, scored_text_md5, sentiment_score, sentiment_label, analyzer "
    "from analytics.mention_sentiment"
)

# the staging model calls the text column mention_text
INPUT_QUERY = (
    "select platform, post_id, mention_text, language from staging.stg_social__mentions order by platform, post_id"
)

# CJK Unified Ideographs (basic block, extension A, compatibility, extensions B-F): one per
# character. Latin words: runs of ASCII or Latin-1/Extended-A/B letters.
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_LATIN_WORD = re.compile("[A-Za-z\u00c0-\u024f]+")
# ignored when matching emoji: variation selectors, skin-tone modifiers, zero-width joiner
_EMOJI_MODIFIERS = re.compile("[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff\u200d]")
#: A Chinese word is about two characters, so two CJK characters weigh as one Latin word
#: when deciding which script dominates a text.
CJK_CHARS_PER_WORD = 2.0

# score digits written: enough for any use, few enough to compare across platforms
_DIGITS = 6


@dataclass(frozen=True)
class SentimentResult:
    """Score of one text.

    Attributes:
        score: sentiment in [-1, 1]; 0 is neutral (also for empty text).
        label: ``positive``, ``neutral`` or ``negative`` (see :data:`POSITIVE_THRESHOLD`).
        analyzer: what read the text: ``snownlp`` or ``vader``, ``+emoji`` when emoji from
            :data:`EMOJI_POLARITY` were blended in, ``emoji`` when only emoji carried a signal,
            ``none`` for empty text.
    """

    score: float
    label: str
    analyzer: str


def label_for(score: float) -> str:
    """The label of a score, by :data:`POSITIVE_THRESHOLD` and :data:`NEGATIVE_THRESHOLD`."""
    if score >= POSITIVE_THRESHOLD:
        return "positive"
    if score <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


def resolve_language(text: str, declared: str | None) -> str | None:
    """Which analyser should read ``text``: ``'zh'``, ``'en'`` or None (no letters at all).

    The declared language wins when the text contains its script (``zh-CN``, ``zh_hant``
    count as ``zh``, ``en-GB`` as ``en``); a declared language whose script is absent is a
    mislabel and is ignored. Otherwise the dominant script decides, weighing CJK characters
    against Latin words by :data:`CJK_CHARS_PER_WORD`; a tie goes to Chinese, since SnowNLP
    reads Latin tokens (as unknown words) while VADER cannot read Chinese at all.

    Args:
        text: the post.
        declared: the source's language column, possibly null or another language.
    """
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    lang = (declared or "").strip().lower()
    if lang.startswith("zh") and cjk:
        return "zh"
    if lang.startswith("en") and latin:
        return "en"
    if cjk and cjk / CJK_CHARS_PER_WORD >= latin:
        return "zh"
    if latin:
        return "en"
    return None


@functools.cache
def _snownlp_classify() -> Any:
    """SnowNLP's sentiment classifier; importing it loads the model (about 2.5 s), once."""
    from snownlp import sentiment

    return sentiment.classify


@functools.cache
def _vader() -> Any:
    """One VADER analyser (it reads its lexicon files when constructed)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _split_emoji(text: str) -> tuple[str, list[float]]:
    """``text`` without the emoji of :data:`EMOJI_POLARITY`, and those emoji's polarities."""
    polarities: list[float] = []
    kept: list[str] = []
    for ch in _EMOJI_MODIFIERS.sub("", text):
        value = EMOJI_POLARITY.get(ch)
        if value is None:
            kept.append(ch)
        else:
            polarities.append(value)
            kept.append(" ")
    return "".join(kept), polarities


def _text_score(text: str, language: str) -> float:
    if language == "zh":
        return 2.0 * float(_snownlp_classify()(text)) - 1.0
    return float(_vader().polarity_scores(text)["compound"])


def analyse(text: str | None, language: str | None) -> SentimentResult:
    """Score one text and say which analyser read it.

    Empty or missing text scores 0.0 (neutral): absence of text is not a negative signal.
    Emoji from :data:`EMOJI_POLARITY` are averaged into an emoji score ``e``; the rest of the
    text is read by the analyser :func:`resolve_language` picks, giving ``t``. With both, the
    score is ``(1 - EMOJI_WEIGHT) * t + EMOJI_WEIGHT * e``; with only one, that one. Only the
    first :data:`MAX_CHARS` characters are read.

    Args:
        text: the post.
        language: the declared language, may be null or any other code.
    """
    body = (text or "")[:MAX_CHARS]
    rest, emoji = _split_emoji(body)
    language_used = resolve_language(rest, language)
    if language_used is None and not emoji:
        return SentimentResult(0.0, "neutral", "none")
    emoji_score = sum(emoji) / len(emoji) if emoji else 0.0
    if language_used is None:
        score, analyzer = emoji_score, "emoji"
    else:
        analyzer = "snownlp" if language_used == "zh" else "vader"
        score = _text_score(rest, language_used)
        if emoji:
            score = (1.0 - EMOJI_WEIGHT) * score + EMOJI_WEIGHT * emoji_score
            analyzer += "+emoji"
    score = round(min(1.0, max(-1.0, score)), _DIGITS) + 0.0  # + 0.0: no negative zero
    return SentimentResult(score, label_for(score), analyzer)


def score_text(text: str | None, language: str | None) -> float:
    """Sentiment of ``text`` in [-1, 1]; 0.0 for empty or missing text. See :func:`analyse`."""
    return analyse(text, language).score


@functools.lru_cache(maxsize=200_000)
def _analyse_once(text: str | None, language: str | None) -> SentimentResult:
    """:func:`analyse`, once per distinct text in a run: re-posts, copied complaints and
    templated messages are scored once (the analysers are deterministic). Bounded, so a run of
    millions of distinct texts keeps its memory flat."""
    return analyse(text, language)


def score_mentions(conn: Any) -> dict[str, Any]:
    """Score every mention of ``staging.stg_social__mentions`` into ``analytics.mention_sentiment``.

    The table is replaced in one transaction (see
    :func:`cx_warehouse.analytics.store.replace_table`); the analysers are deterministic, so a
    re-run on the same mentions writes the same table.

    Args:
        conn: an open psycopg connection (not in autocommit).

    Returns:
        Summary: mentions scored, counts per label and per analyser, texts cut to
        :data:`MAX_CHARS`, and the scoring time and rate.
    """
    # in a transaction block of its own, so the read does not leave one open (a later
    # conn.transaction() would then only be a savepoint and replace_table would not commit)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(INPUT_QUERY)
        records = cur.fetchall()
        cur.execute("select to_regclass('analytics.mention_sentiment') is not null")
        row = cur.fetchone()
        has_previous = bool(row and row[0])
        if has_previous:
            cur.execute("select 1 from information_schema.columns where table_schema = 'analytics' "
                        "and table_name = 'mention_sentiment' and column_name = 'scored_text_md5'")
            has_previous = cur.fetchone() is not None
        previous: dict[tuple[str, str], tuple[str, float, str, str]] = {}
        if has_previous:
            cur.execute(PREVIOUS_QUERY)
            previous = {(p, i): (h, sc, lb, an) for p, i, h, sc, lb, an in cur.fetchall()}

    if len(previous) < len(records):
        _snownlp_classify()  # load outside the timing: it is a one-off cost (~2.5 s)
        _vader()
    started = time.perf_counter()
    rows: list[tuple[str, str, float, str, str, str]] = []
    labels: Counter[str] = Counter()
    analyzers: Counter[str] = Counter()
    truncated = reused = 0
    for platform, post_id, text, language in records:
        digest = hashlib.md5(f"{SCORER_VERSION}|{language}|{text}".encode()).hexdigest()
        before = previous.get((platform, post_id))
        if before is not None and before[0] == digest:
            score, label, analyzer = before[1], before[2], before[3]
            reused += 1
        else:
            if text is not None and len(text) > MAX_CHARS:
                truncated += 1
            result = _analyse_once(text, language)
            score, label, analyzer = result.score, result.label, result.analyzer
        labels[label] += 1
        analyzers[analyzer] += 1
        rows.append((platform, post_id, score, label, analyzer, digest))
    seconds = time.perf_counter() - started
    analysed = _analyse_once.cache_info().misses  # texts the analysers actually read
    _analyse_once.cache_clear()
    rate = len(rows) / seconds if seconds > 0 else None
    if truncated:
        log.info("%d mention(s) longer than %d characters: only the start was scored", truncated, MAX_CHARS)
    log.info("scored %d mentions (%d reused, %d distinct texts analysed) in %.1f s (%s texts/s): %s", len(rows),
             reused, analysed, seconds, f"{rate:.0f}" if rate else "n/a", dict(sorted(labels.items())))

    written = replace_table(
        conn,
        "mention_sentiment",
        MENTION_COLUMNS,
        rows,
        comment=(
            "Sentiment per social mention in [-1, 1] (SnowNLP for Chinese, VADER for English, emoji table "
            f"blended in); label positive >= {POSITIVE_THRESHOLD}, negative <= {NEGATIVE_THRESHOLD}; "
            "written by cx_warehouse.analytics.sentiment.score_mentions"
        ),
    )
    return {
        "mentions": len(records),
        "mentions_written": written,
        "reused_scores": reused,
        "labels": dict(sorted(labels.items())),
        "analyzers": dict(sorted(analyzers.items())),
        "truncated": truncated,
        "texts_analysed": analysed,
        "score_seconds": round(seconds, 3),
        "texts_per_second": round(rate, 1) if rate else None,
    }
