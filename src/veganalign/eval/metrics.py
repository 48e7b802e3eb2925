"""Rates with Wilson intervals and paired tests between arms on the same cases.

Wilson intervals stay sensible at 0% and 100%, where the normal approximation collapses
to a zero-width interval. Arms are compared on the same cases: McNemar's exact test on
the discordant pairs for binary outcomes, and a paired bootstrap for a difference in
means. Cohen's kappa (with a bootstrap interval) measures agreement with gold labels.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float, float]:
    """(rate, low, high) for k successes in n trials; (nan, 0, 1) when n == 0."""
    if n == 0:
        return float("nan"), 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> dict[str, float]:
    """Exact McNemar test for paired binary outcomes (two-sided binomial on the discordant pairs)."""
    if len(a) != len(b):
        raise ValueError("paired outcomes must have the same length")
    only_a = sum(x and not y for x, y in zip(a, b, strict=True))
    only_b = sum(y and not x for x, y in zip(a, b, strict=True))
    n = only_a + only_b
    if n == 0:
        return {"only_a": 0, "only_b": 0, "p_value": 1.0}
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return {"only_a": only_a, "only_b": only_b, "p_value": min(1.0, 2 * tail)}


def paired_bootstrap(a: Sequence[float], b: Sequence[float], iterations: int = 5000, seed: int = 0) -> dict[str, float]:
    """Mean difference b - a with a 95% interval and a two-sided p-value, resampling cases."""
    if len(a) != len(b) or not a:
        raise ValueError("paired samples must be non-empty and of the same length")
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(iterations))
    observed = sum(diffs) / n
    lo, hi = means[int(0.025 * iterations)], means[int(0.975 * iterations) - 1]
    p = 2 * min(sum(m <= 0 for m in means), sum(m >= 0 for m in means)) / iterations
    return {"mean_diff": observed, "low": lo, "high": hi, "p_value": min(1.0, p)}


def cohen_kappa(x: Sequence, y: Sequence) -> float:
    if len(x) != len(y) or not x:
        return float("nan")
    labels = sorted(set(x) | set(y), key=str)
    n = len(x)
    observed = sum(a == b for a, b in zip(x, y, strict=True)) / n
    expected = sum((list(x).count(lab) / n) * (list(y).count(lab) / n) for lab in labels)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1 - expected)


def kappa_interval(x: Sequence, y: Sequence, iterations: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Cohen's kappa with a 95% bootstrap interval."""
    k = cohen_kappa(x, y)
    rng = random.Random(seed)
    n = len(x)
    samples = []
    for _ in range(iterations):
        idx = [rng.randrange(n) for _ in range(n)]
        samples.append(cohen_kappa([x[i] for i in idx], [y[i] for i in idx]))
    samples = sorted(s for s in samples if not math.isnan(s))
    if not samples:
        return k, float("nan"), float("nan")
    return k, samples[int(0.025 * len(samples))], samples[int(0.975 * len(samples)) - 1]


def krippendorff_alpha(units: Sequence[Sequence]) -> float:
    """Krippendorff's alpha for nominal labels; each unit is the labels its annotators gave one item.

    Units with fewer than two labels carry no pairable information and are skipped. Works
    for any number of annotators and missing labels, where Cohen's kappa needs exactly two.
    """
    coincidence: dict[tuple, float] = {}
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        for i, a in enumerate(unit):
            for j, b in enumerate(unit):
                if i != j:
                    coincidence[(a, b)] = coincidence.get((a, b), 0.0) + 1.0 / (m - 1)
    totals: dict = {}
    for (a, _), value in coincidence.items():
        totals[a] = totals.get(a, 0.0) + value
    n = sum(totals.values())
    if n <= 1:
        return float("nan")
    observed = sum(v for (a, b), v in coincidence.items() if a != b)
    expected = sum(totals[a] * totals[b] for a in totals for b in totals if a != b) / (n - 1)
    if expected == 0:
        return 1.0 if observed == 0 else float("nan")
    return 1.0 - observed / expected
