from __future__ import annotations

import numpy as np
import pytest

from ml.baselines import Standardisation, class_weights, fit_logistic, logistic_scores
from ml.metrics import roc_auc


def test_class_weights_give_each_class_half_the_weight() -> None:
    y = np.array([1] + [0] * 9)
    w = class_weights(y)
    assert w[1] * 1 == pytest.approx(w[0] * 9)
    assert w[1] * 1 + w[0] * 9 == pytest.approx(10)


def test_standardisation_zero_mean_unit_std() -> None:
    x = np.array([[1000, 10, 50], [1010, 20, 70], [1020, 30, 90]], dtype=np.float32)
    z = Standardisation.fit(x).apply(x)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-6)


def test_logistic_regression_learns_the_sign() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 2] - 0.5 * x[:, 0] > 1.0).astype(int)
    w, b = fit_logistic(x, y)
    assert w[2] > 0 and w[0] < 0 and abs(w[1]) < w[2]
    assert roc_auc(y, logistic_scores(x, w, b)) > 0.98
