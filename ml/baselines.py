"""Baselines on the same time split: humidity alone, and logistic regression in NumPy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.metrics import balanced_accuracy, best_threshold, roc_auc

HUMIDITY = 2  # column of relative humidity in the feature order


@dataclass(frozen=True)
class Standardisation:
    mean: np.ndarray  # float32 [3]
    std: np.ndarray  # float32 [3]

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardisation:
        x64 = np.asarray(x, dtype=np.float64)
        return cls(x64.mean(axis=0).astype(np.float32), x64.std(axis=0).astype(np.float32))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, dtype=np.float32) - self.mean) / self.std).astype(np.float32)


def class_weights(y: np.ndarray) -> dict[int, float]:
    """Weights giving each class half of the total weight."""
    y = np.asarray(y).astype(bool)
    n = len(y)
    n_pos = int(y.sum())
    return {0: n / (2.0 * (n - n_pos)), 1: n / (2.0 * n_pos)}


def fit_logistic(
    x: np.ndarray, y: np.ndarray, steps: int = 2000, lr: float = 0.5
) -> tuple[np.ndarray, float]:
    """Class-weighted logistic regression by full-batch gradient descent (no randomness)."""
    x64 = np.asarray(x, dtype=np.float64)
    y64 = np.asarray(y, dtype=np.float64)
    cw = class_weights(y)
    w_sample = np.where(y64 > 0, cw[1], cw[0]) / len(y64)
    w = np.zeros(x64.shape[1])
    b = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x64 @ w + b)))
        g = w_sample * (p - y64)
        w -= lr * (x64.T @ g)
        b -= lr * float(g.sum())
    return w, b


def logistic_scores(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) @ w + b)))


def _report(
    y_train: np.ndarray, s_train: np.ndarray, y_test: np.ndarray, s_test: np.ndarray
) -> dict[str, float]:
    threshold = best_threshold(y_train, s_train)
    return {
        "test_roc_auc": roc_auc(y_test, s_test),
        "test_balanced_accuracy": balanced_accuracy(y_test, s_test >= threshold),
        "threshold": threshold,
    }


def run_baselines(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> dict[str, dict[str, float]]:
    """Both baselines, each with its threshold chosen on the training months."""
    std = Standardisation.fit(x_train)
    w, b = fit_logistic(std.apply(x_train), y_train)
    return {
        "humidity_only": _report(y_train, x_train[:, HUMIDITY], y_test, x_test[:, HUMIDITY]),
        "logistic_regression": _report(
            y_train,
            logistic_scores(std.apply(x_train), w, b),
            y_test,
            logistic_scores(std.apply(x_test), w, b),
        ),
    }
