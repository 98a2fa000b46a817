"""The demo's checks against the generator's ground truth: what only synthetic data can tell.

The generator knows which rows it spoiled and which customers it made churn; the warehouse
must find exactly those. Production code never sees this file's inputs.
"""

from __future__ import annotations

from cx_warehouse.warehouse.connection import connect, relation_exists, warehouse_url


def churn_risk_auc(scores: dict[str, float], archetypes: dict[str, str],
                   positive: str = "churning", negative: str = "loyal") -> tuple[float | None, int, int]:
    """AUC (Mann-Whitney) of risk scores separating two generator archetypes; ties count half.

    Returns (auc, positives, negatives); auc is None when either group is empty.
    """
    pos = [s for c, s in scores.items() if archetypes.get(c) == positive]
    neg = [s for c, s in scores.items() if archetypes.get(c) == negative]
    if not pos or not neg:
        return None, len(pos), len(neg)
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg)), len(pos), len(neg)



def churn_separation(archetypes: dict[str, str], url: str | None = None) -> tuple[float | None, int, int] | None:
    """How well ``marts.churn_customer_risk`` separates the generator's churning from its loyal customers."""
    with connect(url or warehouse_url()) as conn:
        if not relation_exists(conn, "marts.churn_customer_risk"):
            return None
        scores = dict(conn.execute("select customer_id, risk_score::float from marts.churn_customer_risk").fetchall())
    return churn_risk_auc(scores, archetypes)
