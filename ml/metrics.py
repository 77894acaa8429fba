"""Metrics for a rare positive class, in NumPy: ROC AUC and balanced accuracy."""

from __future__ import annotations

import numpy as np


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    # Boundaries of runs of equal values.
    starts = np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])
    ends = np.r_[starts[1:], len(values)]
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + 1 + e) / 2.0
    return ranks


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    y = np.asarray(y_true).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError("y_true and scores differ in length")
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both classes")
    rank_sum = float(_ranks(s)[y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of the true positive rate and the true negative rate."""
    y = np.asarray(y_true).astype(bool).ravel()
    p = np.asarray(y_pred).astype(bool).ravel()
    if y.shape != p.shape:
        raise ValueError("y_true and y_pred differ in length")
    if y.all() or not y.any():
        raise ValueError("balanced accuracy needs both classes")
    tpr = float((p & y).sum()) / float(y.sum())
    tnr = float((~p & ~y).sum()) / float((~y).sum())
    return (tpr + tnr) / 2.0


def best_threshold(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Threshold t maximising balanced accuracy of ``scores >= t`` (midpoint between scores)."""
    y = np.asarray(y_true).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("a threshold needs both classes")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(~y_sorted)
    # Only cut where the score changes: predict positive for the first k items.
    last_of_run = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    bal = (tp / n_pos + 1.0 - fp / n_neg) / 2.0
    bal = np.where(last_of_run, bal, -1.0)
    k = int(np.argmax(bal))
    if k + 1 < len(s_sorted):
        return float((s_sorted[k] + s_sorted[k + 1]) / 2.0)
    return float(s_sorted[k])


def roc_auc_slack(y_true: np.ndarray, scores: np.ndarray, eps: float) -> float:
    """How far ROC AUC may move when every score moves by at most ``eps`` (as on another CPU).

    A (positive, negative) pair can change order, or leave or enter a tie, only if its scores
    are within ``2 * eps`` of each other; each such pair moves the AUC by at most
    ``1 / (n_pos * n_neg)``.
    """
    y, s = _labels_and_scores(y_true, scores, eps)
    pos, neg = s[y], np.sort(s[~y])
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("ROC AUC needs both classes")
    window = 2.0 * eps
    close = np.searchsorted(neg, pos + window, "right") - np.searchsorted(neg, pos - window, "left")
    return float(close.sum()) / (len(pos) * len(neg))


def balanced_accuracy_slack(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, eps: float
) -> float:
    """How far the balanced accuracy of ``scores >= threshold`` may move when every score moves
    by at most ``eps``: only items within ``eps`` of the threshold can change side."""
    y, s = _labels_and_scores(y_true, scores, eps)
    if y.all() or not y.any():
        raise ValueError("balanced accuracy needs both classes")
    near = np.abs(s - threshold) <= eps
    return float((near & y).sum()) / (2.0 * y.sum()) + float((near & ~y).sum()) / (2.0 * (~y).sum())


def _labels_and_scores(y_true: np.ndarray, scores: np.ndarray,
                       eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels as booleans and scores as float64, flat; checked to match, with ``eps >= 0``."""
    y = np.asarray(y_true).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError("y_true and scores differ in length")
    if eps < 0:
        raise ValueError("eps must not be negative")
    return y, s
