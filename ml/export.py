"""Write the Greengrass ML resources: two SavedModels, their zips, and a TFLite pipeline."""

from __future__ import annotations

import zipfile
from pathlib import Path

import tensorflow as tf

from ml.model import INPUT_SPEC, SIGNATURE, Standardiser

STANDARDISER = "standardiser"
PREDICTOR = "rain_predictor"
TFLITE = "rain_pipeline.tflite"
PIPELINE = "rain_pipeline"  # the ML resource that carries the TFLite build


def save_standardiser(std: Standardiser, out: Path) -> None:
    tf.saved_model.save(std, str(out), signatures={SIGNATURE: std.serve})


def save_predictor(model: tf.keras.Model, out: Path) -> None:
    """Export through ``ExportArchive``: it converts to TFLite with correct answers."""
    archive = tf.keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SIGNATURE, lambda x: {"y": model(x)}, input_signature=[INPUT_SPEC])
    archive.write_out(str(out), verbose=False)


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
