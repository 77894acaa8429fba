"""ml.export without training: the predictor's layout and answers, the pinned fingerprint."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="TensorFlow is installed on x86_64 only (pyproject.toml)")

import tensorflow as tf
from tensorflow.core.protobuf import fingerprint_pb2

from ml.contract import SCORE_TOLERANCE
from ml.export import pin_fingerprint, save_predictor
from ml.model import SIGNATURE, TrainConfig, build_network


def test_the_predictor_is_written_in_layer_order_and_answers_as_keras(tmp_path: Path) -> None:
    tf.keras.utils.set_random_seed(3)
    model = build_network(TrainConfig())
    save_predictor(model, tmp_path / "p")
    # What bench/inference_latency.py and tests/lambdas read: kernel, bias, ... in order.
    ckpt = tf.train.load_checkpoint(str(tmp_path / "p" / "variables" / "variables"))
    shapes = ckpt.get_variable_to_shape_map()
    keys = sorted(
        (k for k in shapes if k.startswith("variables/")), key=lambda k: int(k.split("/")[1])
    )
    assert [shapes[k] for k in keys] == [list(w.shape) for w in model.weights]
    for key, weight in zip(keys, model.weights, strict=True):
        np.testing.assert_array_equal(ckpt.get_tensor(key), weight.numpy())
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    served = tf.saved_model.load(str(tmp_path / "p")).signatures[SIGNATURE](x=tf.constant(x))
    assert list(served) == ["y"]
    expected = model(x, training=False).numpy()
    np.testing.assert_allclose(served["y"].numpy(), expected, rtol=0, atol=SCORE_TOLERANCE)
    assert expected.std() > 1e-3  # the rows are told apart, so the comparison means something


def test_only_dense_layers_with_a_bias_are_exported(tmp_path: Path) -> None:
    model = tf.keras.Sequential(
        [tf.keras.Input((3,)), tf.keras.layers.Dense(2, use_bias=False, name="nobias")]
    )
    with pytest.raises(TypeError, match="nobias"):
        save_predictor(model, tmp_path / "p")


def test_the_fingerprint_uuid_is_made_from_the_content(artifacts: Path, tmp_path: Path) -> None:
    for name in ("one", "two"):
        shutil.copytree(artifacts / "standardiser", tmp_path / name)
        pin_fingerprint(tmp_path / name)
    shutil.copytree(artifacts / "rain_predictor", tmp_path / "other")
    pin_fingerprint(tmp_path / "other")
    one, two, other = (
        (tmp_path / n / "fingerprint.pb").read_bytes() for n in ("one", "two", "other")
    )
    assert one == two  # the same model: the same file
    uuid = fingerprint_pb2.FingerprintDef.FromString(one).uuid
    committed = (artifacts / "standardiser" / "fingerprint.pb").read_bytes()
    assert uuid != fingerprint_pb2.FingerprintDef.FromString(committed).uuid  # not TF's random
    assert uuid != fingerprint_pb2.FingerprintDef.FromString(other).uuid  # another model's
    # TensorFlow still reads it and loads the model.
    assert tf.saved_model.experimental.read_fingerprint(str(tmp_path / "one"))
    assert tf.saved_model.load(str(tmp_path / "one")).signatures[SIGNATURE]
