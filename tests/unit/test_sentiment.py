"""Sentiment scoring of social mentions: analyser choice, score range, and accuracy on the
generator's own labelled texts (no database; score_mentions on the warehouse is tested in
tests/integration/test_analytics_models.py)."""

from __future__ import annotations

import logging
import random
from collections import Counter
from typing import Any

import pytest

from cx_demo.generator import text as gen_text
from cx_warehouse.analytics import sentiment
from cx_warehouse.analytics.sentiment import (
    NEGATIVE_THRESHOLD,
    POSITIVE_THRESHOLD,
    analyse,
    label_for,
    resolve_language,
    score_text,
)

log = logging.getLogger(__name__)

POLARITIES = ("positive", "neutral", "negative")


# ---------------------------------------------------------------------------------------
# Single texts
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "I love this jacket, great quality and super fast delivery!",
    "Amazing service, thank you so much",
])
def test_english_positive(text: str) -> None:
    result = analyse(text, "en")
    assert result.analyzer == "vader"
    assert result.label == "positive"
    assert result.score >= POSITIVE_THRESHOLD


@pytest.mark.parametrize("text", [
    "Terrible quality, it broke after two days. Very disappointed.",
    "Worst customer service ever, the staff were rude",
])
def test_english_negative(text: str) -> None:
    result = analyse(text, "en")
    assert result.label == "negative"
    assert result.score <= NEGATIVE_THRESHOLD


def test_english_neutral() -> None:
    result = analyse("The parcel was delivered on Tuesday.", "en")
    assert result.label == "neutral"
    assert result.score == 0.0


@pytest.mark.parametrize("text", ["质量很好，非常满意", "性价比很高，活动价很划算", "会员福利很贴心，生日还收到了礼物"])
def test_chinese_positive(text: str) -> None:
    result = analyse(text, "zh")
    assert result.analyzer == "snownlp"
    assert result.label == "positive"


@pytest.mark.parametrize("text", ["太差了，再也不买了", "质量太差，用了两天就坏了", "客服电话一直打不通，差评"])
def test_chinese_negative(text: str) -> None:
    result = analyse(text, "zh")
    assert result.analyzer == "snownlp"
    assert result.label == "negative"


@pytest.mark.parametrize("text", [None, "", "   ", "\u200b\n"])
def test_empty_text_is_neutral_zero(text: str | None) -> None:
    result = analyse(text, "zh")
    assert (result.score, result.label, result.analyzer) == (0.0, "neutral", "none")
    assert score_text(text, None) == 0.0


def test_language_null_or_unknown_uses_script() -> None:
    assert analyse("太差了，再也不买了", None).analyzer == "snownlp"
    assert analyse("太差了，再也不买了", "und").analyzer == "snownlp"
    assert analyse("太差了，再也不买了", None).label == "negative"
    assert analyse("Terrible, never again", None).analyzer == "vader"
    assert analyse("Terrible, never again", "fr").label == "negative"


def test_declared_language_and_mixed_text_rule() -> None:
    # regional codes count as their language
    assert resolve_language("质量很好", "zh-CN") == "zh"
    assert resolve_language("great", "EN-gb") == "en"
    # a declared language whose script is absent is a mislabel
    assert resolve_language("质量很好，非常满意", "en") == "zh"
    assert resolve_language("Great quality", "zh") == "en"
    # the declared language wins when its script is present at all
    assert resolve_language("Love the 青岚 tee", "zh") == "zh"
    # undeclared: two CJK characters weigh as one Latin word
    assert resolve_language("Love the new 青岚 tee, so comfy", None) == "en"
    assert resolve_language("App很好用，退换货也简单", None) == "zh"
    assert resolve_language("好 ok", None) == "en"
    assert resolve_language("很好 ok", None) == "zh"
    assert resolve_language("12345 !!!", None) is None


def test_emoji_carry_sentiment_in_both_languages() -> None:
    # SnowNLP ignores emoji and VADER scores these as zero or (broken heart) positive
    assert analyse("😡👎", "zh").label == "negative"
    assert analyse("😡👎", "zh").analyzer == "emoji"
    assert analyse("💔", "en").label == "negative"
    assert analyse("🥰🥰", None).label == "positive"
    # variation selectors and skin tones do not hide an emoji
    assert analyse("❤️", "en").score == analyse("❤", "en").score > 0
    assert analyse("👍🏻", "en").score == analyse("👍", "en").score > 0
    # blended with the text: half text, half emoji
    text_only = analyse("路过门店看了一眼", "zh")
    blended = analyse("路过门店看了一眼 😍", "zh")
    assert blended.analyzer == "snownlp+emoji"
    assert blended.score == pytest.approx(0.5 * text_only.score + 0.5 * sentiment.EMOJI_POLARITY["😍"], abs=1e-6)


def test_long_text_is_capped() -> None:
    unit = '很长的文本 very long text, "quoted" 🎉 '
    long = unit * 3000
    assert analyse(long, "zh") == analyse(long[: sentiment.MAX_CHARS], "zh")


def test_labels_follow_thresholds() -> None:
    assert label_for(POSITIVE_THRESHOLD) == "positive"
    assert label_for(NEGATIVE_THRESHOLD) == "negative"
    assert label_for(0.0) == "neutral"
    assert label_for(POSITIVE_THRESHOLD - 1e-9) == "neutral"
    assert NEGATIVE_THRESHOLD < 0 < POSITIVE_THRESHOLD


# ---------------------------------------------------------------------------------------
# The generator's texts, labelled by the polarity the generator drew them for
# ---------------------------------------------------------------------------------------
def generator_texts(seed: int = 7, per_template: int = 10, with_emoji: bool = True) -> list[tuple[str, str, str]]:
    """(language, polarity, text) for every social post and survey comment template of the
    generator, dressed the way the generator dresses them (``model.World._mention`` and
    ``_response``): products filled in, 1-3 emoji of the same polarity on 75 % of posts and 1-2
    on 70 % of comments, the brand hashtag on 30 % of posts."""
    rng = random.Random(seed)
    out: list[tuple[str, str, str]] = []
    for lang in ("zh", "en"):
        brand = gen_text.BRAND_ZH if lang == "zh" else gen_text.BRAND_EN
        for polarity in POLARITIES:
            templates = [(t, True) for t in gen_text.POSTS[lang][polarity]]
            templates += [(c, False) for cs in gen_text.COMMENTS[lang][polarity].values() for c in cs]
            for template, is_post in templates:
                for _ in range(per_template):
                    product = rng.choice(gen_text.PRODUCTS)[1]
                    product = product.split(" ", 1)[0] if lang == "zh" else product.split(" ", 1)[1]
                    body = template.format(brand=brand, product=product) if is_post else template
                    if with_emoji and rng.random() < (0.75 if is_post else 0.7):
                        body += " " + "".join(rng.choice(gen_text.EMOJI[polarity])
                                              for _ in range(rng.randint(1, 3 if is_post else 2)))
                    if is_post and rng.random() < 0.3:
                        body += " #" + brand
                    out.append((lang, polarity, body.strip()))
    return out


def _accuracy(samples: list[tuple[str, str, str]], language: str | None = "declared") -> dict[str, Any]:
    hits: Counter[tuple[str, str]] = Counter()
    totals: Counter[tuple[str, str]] = Counter()
    scores: dict[str, list[float]] = {p: [] for p in POLARITIES}
    for lang, polarity, text in samples:
        result = analyse(text, lang if language == "declared" else language)
        totals[(lang, polarity)] += 1
        hits[(lang, polarity)] += result.label == polarity
        scores[polarity].append(result.score)
    polar = [k for k in totals if k[0] and k[1] != "neutral"]
    return {
        "polar": sum(hits[k] for k in polar) / sum(totals[k] for k in polar),
        "all": sum(hits.values()) / sum(totals.values()),
        "by_class": {f"{lang}-{p}": round(hits[(lang, p)] / totals[(lang, p)], 3) for lang, p in sorted(totals)},
        "mean_score": {p: sum(v) / len(v) for p, v in scores.items()},
    }


@pytest.fixture(scope="module")
def as_generated() -> dict[str, Any]:
    acc = _accuracy(generator_texts())
    log.info("sentiment accuracy on generator texts as generated: %s", acc)
    return acc


def test_accuracy_on_generator_texts_as_generated(as_generated: dict[str, Any]) -> None:
    """Positive and negative texts get the right label; measured 0.859 (n=760); neutral texts
    are the weak spot (SnowNLP is sure of itself on short texts)."""
    acc = as_generated
    assert acc["polar"] >= 0.83
    # every class is on the right side on average
    assert acc["mean_score"]["negative"] < NEGATIVE_THRESHOLD
    assert acc["mean_score"]["positive"] > POSITIVE_THRESHOLD
    # negatives are what brand monitoring must not miss: measured 0.95 (zh) and 0.77 (en)
    assert acc["by_class"]["zh-negative"] >= 0.9
    assert acc["by_class"]["en-negative"] >= 0.7
    assert acc["by_class"]["zh-positive"] >= 0.7  # measured 0.75; SnowNLP's weakest spot
    assert acc["by_class"]["en-positive"] >= 0.9  # measured 0.97


def test_accuracy_on_bare_generator_texts() -> None:
    """Without the emoji the text alone decides: measured 0.758 on positive and negative texts."""
    acc = _accuracy(generator_texts(with_emoji=False))
    log.info("sentiment accuracy on bare generator texts: %s", acc)
    assert acc["polar"] >= 0.73
    assert acc["mean_score"]["negative"] < 0 < acc["mean_score"]["positive"]


def test_accuracy_without_declared_language_is_the_same(as_generated: dict[str, Any]) -> None:
    """Script detection picks the same analyser the language column would on every generator text."""
    assert _accuracy(generator_texts(), language=None)["by_class"] == as_generated["by_class"]


def test_scores_are_in_range_and_deterministic() -> None:
    samples = generator_texts(seed=3, per_template=2)
    samples += [("zh", "neutral", "💩🔥🙈 emoji only 🎉🎉"), ("en", "neutral", "${jndi:ldap://example.invalid/a}"),
                ("zh", "neutral", "中文，逗号，“引号”，以及\n换行"), ("en", "neutral", "\u200b\u200bzero width\u200d joiner")]
    first = [analyse(text, lang) for lang, _, text in samples]
    second = [analyse(text, lang) for lang, _, text in samples]
    assert first == second
    for result in first:
        assert -1.0 <= result.score <= 1.0
        assert result.label == label_for(result.score)
        assert str(result.score) != "-0.0"
