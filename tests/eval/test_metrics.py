"""Rates, intervals, paired tests and agreement statistics (veganalign.eval.metrics)."""

from __future__ import annotations

import math

from veganalign.eval.metrics import cohen_kappa, kappa_interval, krippendorff_alpha, mcnemar, paired_bootstrap, wilson


def test_wilson_is_sensible_at_the_edges():
    rate, lo, hi = wilson(0, 20)
    assert rate == 0 and lo == 0 and 0.1 < hi < 0.2
    rate, lo, hi = wilson(20, 20)
    assert rate == 1 and hi == 1 and 0.8 < lo < 0.9
    assert math.isnan(wilson(0, 0)[0])


def test_mcnemar_and_bootstrap():
    a = [False] * 12 + [True] * 8
    b = [True] * 12 + [True] * 8
    m = mcnemar(a, b)
    assert m["only_b"] == 12 and m["only_a"] == 0 and m["p_value"] < 0.001
    assert mcnemar(a, a)["p_value"] == 1.0
    boot = paired_bootstrap([0.0] * 20, [1.0] * 20)
    assert boot["mean_diff"] == 1.0 and boot["p_value"] < 0.01


def test_kappa():
    assert cohen_kappa([1, 0, 1, 0], [1, 0, 1, 0]) == 1.0
    assert abs(cohen_kappa([1, 1, 0, 0], [1, 0, 1, 0])) < 1e-9
    k, lo, hi = kappa_interval([1, 0] * 20, [1, 0] * 19 + [0, 0])
    assert lo <= k <= hi


def test_krippendorff_alpha_against_hand_computed_values():
    assert krippendorff_alpha([[1, 1], [0, 0], [1, 1], [0, 0]]) == 1.0
    # perfect disagreement on 4 items with 2 labels each: 1 - (n - 1) * D_o / sum(n_c n_k) = 1 - 7 * 8 / 32
    assert krippendorff_alpha([[1, 0], [0, 1], [1, 0], [0, 1]]) == -0.75
    # three annotators, one missing label: agrees with the coincidence-matrix formula worked by hand (2/3)
    assert abs(krippendorff_alpha([[1, 1, 1], [0, 0, 1], [1, 1], [0, 0, 0]]) - 2 / 3) < 1e-12
    assert math.isnan(krippendorff_alpha([[1], [0]]))  # no item with two labels: nothing to measure
