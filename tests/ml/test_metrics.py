from __future__ import annotations

import numpy as np
import pytest

from ml.metrics import (
    balanced_accuracy,
    balanced_accuracy_slack,
    best_threshold,
    roc_auc,
    roc_auc_slack,
)


def test_roc_auc_perfect_inverted_and_hand_counted() -> None:
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    # Pairs (pos, neg): 0.35>0.1 yes, 0.35>0.4 no, 0.8>both yes -> 3 of 4.
    assert roc_auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == 0.75


def test_roc_auc_ties_count_half() -> None:
    assert roc_auc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5
    # pos 0.5 vs negs 0.5 (tie, 0.5) and 0.2 (win, 1) -> 1.5 / 2.
    assert roc_auc(np.array([0, 0, 1]), np.array([0.5, 0.2, 0.5])) == 0.75


def test_roc_auc_matches_pairwise_count_on_random_data() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = rng.integers(0, 10, 200).astype(float)  # many ties
    pos, neg = s[y == 1], s[y == 0]
    diff = pos[:, None] - neg[None, :]
    expected = ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size
    assert roc_auc(y, s) == pytest.approx(expected, abs=1e-12)


def test_roc_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError):
        roc_auc(np.array([1, 1]), np.array([0.1, 0.2]))


def test_balanced_accuracy_hand_made() -> None:
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    assert balanced_accuracy(y, np.zeros(10)) == 0.5  # always "no rain": 90 % accuracy
    assert balanced_accuracy(y, y) == 1.0
    pred = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])  # TPR 1, TNR 7/9
    assert balanced_accuracy(y, pred) == pytest.approx((1 + 7 / 9) / 2)


def test_best_threshold_separates_and_maximises() -> None:
    y = np.array([0, 0, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.6, 0.9])
    t = best_threshold(y, s)
    assert 0.3 < t <= 0.6
    assert balanced_accuracy(y, s >= t) == 1.0
    # Overlapping classes: the chosen cut is at least as good as every other cut.
    rng = np.random.default_rng(1)
    y2 = rng.integers(0, 2, 300)
    s2 = y2 + rng.normal(0, 1.0, 300)
    best = balanced_accuracy(y2, s2 >= best_threshold(y2, s2))
    assert all(best >= balanced_accuracy(y2, s2 >= c) for c in np.unique(s2))


def test_roc_auc_slack_counts_the_pairs_that_could_change_order() -> None:
    y = np.array([0, 0, 1, 1])
    s = np.array([0.10, 0.50, 0.50, 0.90])  # one tied pair (0.5, 0.5), the rest far apart
    assert roc_auc_slack(y, s, 0.0) == 1 / 4  # an exact tie may break either way
    assert roc_auc_slack(y, s, 0.1) == 1 / 4
    assert roc_auc_slack(y, s, 0.25) == 3 / 4  # (0.5, 0.1) and (0.9, 0.5) are 0.4 apart
    # The bound holds: moving every score by at most eps never moves the AUC further.
    rng = np.random.default_rng(2)
    y2 = rng.integers(0, 2, 300)
    s2 = np.round(rng.random(300), 2)  # many ties and near-ties
    eps = 0.004
    for _ in range(50):
        moved = s2 + rng.uniform(-eps, eps, 300)
        assert abs(roc_auc(y2, moved) - roc_auc(y2, s2)) <= roc_auc_slack(y2, s2, eps) + 1e-12
    assert roc_auc_slack(y2, s2, eps) > 0


def test_balanced_accuracy_slack_counts_the_items_near_the_threshold() -> None:
    y = np.array([1, 0, 0, 0])
    s = np.array([0.5, 0.49, 0.2, 0.9])
    assert balanced_accuracy_slack(y, s, 0.5, 0.0) == 1 / 2  # the positive sits on it
    assert balanced_accuracy_slack(y, s, 0.5, 0.02) == 1 / 2 + 1 / 6
    assert balanced_accuracy_slack(y, s, 0.7, 0.01) == 0.0


def test_slack_refuses_what_it_cannot_bound() -> None:
    with pytest.raises(ValueError, match="both classes"):
        roc_auc_slack(np.array([1, 1]), np.array([0.1, 0.2]), 0.1)
    with pytest.raises(ValueError, match="negative"):
        roc_auc_slack(np.array([0, 1]), np.array([0.1, 0.2]), -1.0)
    with pytest.raises(ValueError, match="both classes"):
        balanced_accuracy_slack(np.array([0, 0]), np.array([0.1, 0.2]), 0.5, 0.1)
