"""Write the Greengrass ML resources: two SavedModels, their zips, and a TFLite pipeline.

Every file comes out byte for byte the same when the same machine runs ``python -m ml.train``
twice (the contract in ``ml.contract``; each run a fresh process, as TensorFlow numbers the
functions it traces per process). Two things TensorFlow and Keras do by default would break
that, and are undone here: Keras's ``ExportArchive`` lists the variables an endpoint uses in
the order of their memory addresses, and ``tf.saved_model.save`` writes a random UUID into
``fingerprint.pb``.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tensorflow as tf
from tensorflow.core.protobuf import fingerprint_pb2

from ml.model import INPUT_SPEC, SIGNATURE, Standardiser

STANDARDISER = "standardiser"
PREDICTOR = "rain_predictor"
TFLITE = "rain_pipeline.tflite"
PIPELINE = "rain_pipeline"  # the ML resource that carries the TFLite build


def pin_fingerprint(saved_model_dir: Path) -> None:
    """Replace the random UUID TensorFlow puts in ``fingerprint.pb`` by one made from the
    fingerprint's own hashes (of the graph, signatures, object graph and checkpoint), so that
    the same model gets the same fingerprint file and a different model a different UUID."""
    path = saved_model_dir / "fingerprint.pb"
    fingerprint = fingerprint_pb2.FingerprintDef.FromString(path.read_bytes())
    fingerprint.ClearField("uuid")
    digest = hashlib.sha256(fingerprint.SerializeToString(deterministic=True)).digest()
    fingerprint.uuid = str(int.from_bytes(digest[:16], "big"))
    path.write_bytes(fingerprint.SerializeToString(deterministic=True))


def save_standardiser(std: Standardiser, out: Path) -> None:
    tf.saved_model.save(std, str(out), signatures={SIGNATURE: std.serve})
    pin_fingerprint(out)


def _dense_layers(model: tf.keras.Model) -> list[tuple[Any, Any, Callable[[Any], Any]]]:
    layers = [layer for layer in model.layers if not isinstance(layer, tf.keras.layers.InputLayer)]
    for layer in layers:
        if not isinstance(layer, tf.keras.layers.Dense) or not layer.use_bias:
            raise TypeError(f"only Dense layers with a bias are exported, not {layer.name}")
    return [(layer.kernel, layer.bias, layer.activation) for layer in layers]


def save_predictor(model: tf.keras.Model, out: Path) -> None:
    """Export the trained Dense stack as variables in layer order (checkpoint keys
    ``variables/0`` kernel, ``variables/1`` bias, ... as the benchmark and the Lambda's tests
    read them) and a ``serving_default`` that runs the same ops as ``Dense.call``: matmul, add,
    activation. Keras's ``ExportArchive`` is not used: it orders variables by memory address."""
    layers = _dense_layers(model)
    root = tf.__internal__.tracking.AutoTrackable()
    variables = []
    for i, (kernel, bias, _) in enumerate(layers):
        variables.append(tf.Variable(kernel.numpy(), name=f"layer{i}/kernel"))
        variables.append(tf.Variable(bias.numpy(), name=f"layer{i}/bias"))
    root.variables = variables
    activations = [activation for _, _, activation in layers]

    @tf.function(input_signature=[INPUT_SPEC])
    def serve(x: tf.Tensor) -> dict[str, tf.Tensor]:
        h = x
        for i, activation in enumerate(activations):
            h = tf.keras.ops.matmul(h, variables[2 * i])
            h = activation(tf.keras.ops.add(h, variables[2 * i + 1]))
        return {"y": h}

    root.serve = serve
    tf.saved_model.save(root, str(out), signatures={SIGNATURE: serve})
    pin_fingerprint(out)


class _Pipeline(tf.Module):
    """Both loaded SavedModels chained, so the TFLite build is exactly what Greengrass ships."""

    def __init__(self, standardiser_dir: Path, predictor_dir: Path) -> None:
        super().__init__(name="rain_pipeline")
        self._std = tf.saved_model.load(str(standardiser_dir))
        self._pred = tf.saved_model.load(str(predictor_dir))

    @tf.function(input_signature=[INPUT_SPEC])
    def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        x_prime = self._std.signatures[SIGNATURE](x=x)["x_prime"]
        return {"y": self._pred.signatures[SIGNATURE](x=x_prime)["y"]}


def build_tflite(standardiser_dir: Path, predictor_dir: Path, work: Path, out: Path) -> None:
    pipeline = _Pipeline(standardiser_dir, predictor_dir)
    tf.saved_model.save(pipeline, str(work), signatures={SIGNATURE: pipeline.serve})
    converter = tf.lite.TFLiteConverter.from_saved_model(str(work))
    out.write_bytes(converter.convert())


def zip_contents(folder: Path, out: Path) -> None:
    """Zip a folder's contents at the archive root (sorted, fixed timestamps)."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            arcname = path.relative_to(folder).as_posix()
            if path.is_dir():
                arcname += "/"
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o40755 if path.is_dir() else 0o100644) << 16
            if path.is_dir():
                zf.writestr(info, b"")
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
