"""Rain prediction: a pinned (long-lived) Greengrass Lambda that runs the rain model on the
readings republish writes to the thing's Shadow.

When the core loads this module it loads the model and starts a loop that never returns. Every
``INFERENCE_INTERVAL`` seconds it gets the classic Shadow of ``THING_NAME``, reads
``state.reported`` ``pressure`` (hPa), ``temperature`` (degrees C), ``humidity`` (%RH) and
``sequence``, and, when that sequence is one it has not predicted for yet, reports::

    {"state": {"reported": {"rain_prediction": 0 | 1, "rain_probability": <4 decimals>}}}

``rain_prediction`` is 1 when the probability is at least ``RAIN_THRESHOLD``. One write per
new reading: the Lambda never bumps the Shadow version on its own and never reacts to its own
writes (they leave the sequence unchanged).

Backends (``INFERENCE_BACKEND``):

- ``tensorflow``: the two SavedModels' ``serving_default`` signatures, ``STANDARDISER_PATH``
  (input ``x`` float32 ``[None, 3]`` -> ``x_prime``) then ``MODEL_PATH`` (-> ``y``).
- ``tflite``: the whole pipeline as one TFLite model, run by ``ai_edge_litert`` (or
  ``tflite_runtime`` where that is what is installed). ``TFLITE_PATH`` is the ``.tflite`` file
  or the folder holding it (an ML resource is unpacked into a folder), default
  ``/ggml/tensorflow/rain_pipeline``.
- ``auto`` (default): ``tflite`` when its runtime imports and its file exists, else
  ``tensorflow``.

TensorFlow is imported only by the ``tensorflow`` backend, so the TFLite path stays light.

Failures never crash the loop and never put garbage in the Shadow: a missing or corrupt model
(retried every interval until it loads), no Shadow yet (404), readings that are missing, null,
not numbers, NaN or infinite, or a reading whose ``message`` is ``"Fail"``, and refused Shadow
requests are logged, nothing is written, and the next interval tries again. An invalid reading
is logged once, not every interval.

Environment, read at start: ``THING_NAME`` (required), ``INFERENCE_INTERVAL`` (seconds > 0,
default 10), ``INFERENCE_BACKEND``, ``STANDARDISER_PATH``, ``MODEL_PATH``, ``TFLITE_PATH``
and ``RAIN_THRESHOLD`` (0..1, default the shipped threshold). Invalid numbers fall back to
their defaults with a warning. The loop runs only on a core (``MY_FUNCTION_ARN`` set), so the
module can be imported anywhere. Runs on Python 3.9+ (the Raspberry Pi core's runtime).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

try:
    import shadow_client  # on a core: beside this module, at the package's root
except ModuleNotFoundError:  # imported as lambdas.<module> (tests, benches)
    from lambdas import shadow_client
from greengrasssdk.IoTDataPlane import ShadowError

logger = logging.getLogger(__name__)

DEFAULT_STANDARDISER_PATH = "/ggml/tensorflow/standardiser"
DEFAULT_MODEL_PATH = "/ggml/tensorflow/rain_predictor"
DEFAULT_TFLITE_PATH = "/ggml/tensorflow/rain_pipeline"
TFLITE_FILE = "rain_pipeline.tflite"
DEFAULT_INTERVAL = 10.0
# The shipped model's threshold, chosen on the training months: ml/artifacts/metrics.json,
# model.threshold (written by python -m ml.train).
DEFAULT_THRESHOLD = 0.4932096600532532
BACKENDS = ("auto", "tflite", "tensorflow")
SIGNATURE = "serving_default"
FEATURES = ("pressure", "temperature", "humidity")  # the model's input order

_NOT_FOUND = re.compile(r"\berror code 404\b")


class ModelError(RuntimeError):
    """The model could not be loaded or run."""


class InvalidFeatures(ValueError):
    """The Shadow holds no usable reading. ``sequence`` is its sequence if that one is valid."""

    def __init__(self, problem: str, sequence: int | None = None) -> None:
        super().__init__(problem)
        self.sequence = sequence


class Features(NamedTuple):
    sequence: int
    values: tuple  # (pressure, temperature, humidity), the model's order


# -- backends ---------------------------------------------------------------------------------


class TFLiteBackend:
    """The pipeline as one TFLite model (standardise and predict)."""

    name = "tflite"

    def __init__(self, interpreter: Any) -> None:
        self._interpreter = interpreter
        self._input = interpreter.get_input_details()[0]["index"]
        self._output = interpreter.get_output_details()[0]["index"]
        self._rows = int(interpreter.get_input_details()[0]["shape"][0])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """``y`` for each row of ``x`` (float32 ``[n, 3]``), as a 1-D array."""
        if x.shape[0] != self._rows:
            self._interpreter.resize_tensor_input(self._input, list(x.shape))
            self._interpreter.allocate_tensors()
            self._rows = x.shape[0]
        self._interpreter.set_tensor(self._input, x)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output).reshape(-1)


class TensorFlowBackend:
    """The two SavedModels' serving signatures, chained."""

    name = "tensorflow"

    def __init__(self, tf: Any, standardiser: Any, predictor: Any) -> None:
        self._tf = tf
        self._standardiser = standardiser
        self._predictor = predictor

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        x_prime = self._standardiser(x=self._tf.constant(x))["x_prime"]
        return self._predictor(x=x_prime)["y"].numpy().reshape(-1)


def tflite_interpreter_class() -> Callable[..., Any] | None:
    """The TFLite ``Interpreter`` class that imports here, or ``None``."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            return None
    return Interpreter


def tflite_file(path: str) -> Path | None:
    """The model file ``path`` names: itself, or the ``.tflite`` file in that folder."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    if candidate.is_dir():
        if (candidate / TFLITE_FILE).is_file():
            return candidate / TFLITE_FILE
        found = sorted(candidate.glob("*.tflite"))
        if len(found) == 1:
            return found[0]
    return None


def load_tflite(path: str) -> TFLiteBackend:
    interpreter_class = tflite_interpreter_class()
    if interpreter_class is None:
        raise ModelError("no TFLite runtime: install ai-edge-litert or tflite-runtime")
    model = tflite_file(path)
    if model is None:
        raise ModelError(f"no TFLite model at {path}")
    try:
        interpreter = interpreter_class(model_path=str(model))
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        raise ModelError(f"the TFLite model {model} is corrupt: {error}") from None
    return TFLiteBackend(interpreter)


def _signature(tf: Any, path: str, what: str) -> Any:
    if not Path(path, "saved_model.pb").is_file():
        raise ModelError(f"no {what} SavedModel at {path} (saved_model.pb is missing)")
    try:
        return tf.saved_model.load(path).signatures[SIGNATURE]
    except Exception as error:  # TensorFlow raises many types for a damaged SavedModel
        raise ModelError(f"the {what} SavedModel at {path} is corrupt: {error}") from None


def load_tensorflow(standardiser_path: str, model_path: str) -> TensorFlowBackend:
    try:
        import tensorflow as tf
    except ImportError:
        raise ModelError("TensorFlow is not installed") from None
    standardiser = _signature(tf, standardiser_path, "standardiser")
    predictor = _signature(tf, model_path, "rain_predictor")
    return TensorFlowBackend(tf, standardiser, predictor)


def choose_backend(backend: str, tflite_path: str) -> str:
    """``backend`` itself, or for ``auto`` the one to use: TFLite when it can run here."""
    if backend != "auto":
        return backend
    usable = tflite_interpreter_class() is not None and tflite_file(tflite_path) is not None
    return "tflite" if usable else "tensorflow"


def load_backend(
    backend: str = "auto",
    standardiser_path: str = DEFAULT_STANDARDISER_PATH,
    model_path: str = DEFAULT_MODEL_PATH,
    tflite_path: str = DEFAULT_TFLITE_PATH,
) -> Any:
    """A loaded backend with ``name`` and ``probabilities(x)``; raises :class:`ModelError`."""
    if backend not in BACKENDS:
        raise ModelError(f"unknown INFERENCE_BACKEND {backend!r}: use one of {BACKENDS}")
    chosen = choose_backend(backend, tflite_path)
    if chosen == "tflite":
        return load_tflite(tflite_path)
    return load_tensorflow(standardiser_path, model_path)


# -- features and prediction ------------------------------------------------------------------


def _reported(document: Any) -> dict:
    state = document.get("state") if isinstance(document, dict) else None
    reported = state.get("reported") if isinstance(state, dict) else None
    if not isinstance(reported, dict):
        raise InvalidFeatures("the Shadow has no reported state")
    return reported


def _number(reported: dict, name: str, sequence: int) -> float:
    raw = reported.get(name)
    if raw is None:
        raise InvalidFeatures(f"'{name}' is missing or null", sequence)
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise InvalidFeatures(f"'{name}' is not a number: {raw!r}", sequence)
    if not math.isfinite(raw):
        raise InvalidFeatures(f"'{name}' is not finite: {raw!r}", sequence)
    return float(raw)


def read_features(document: Any) -> Features:
    """The reading in a Shadow document; raises :class:`InvalidFeatures` if it is unusable."""
    reported = _reported(document)
    sequence = reported.get("sequence")
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise InvalidFeatures(f"'sequence' is not an integer: {sequence!r}")
    if reported.get("message") == "Fail":
        raise InvalidFeatures("the latest reading failed (message 'Fail')", sequence)
    values = tuple(_number(reported, name, sequence) for name in FEATURES)
    return Features(sequence, values)


def predict(backend: Any, features: Features, threshold: float = DEFAULT_THRESHOLD) -> dict:
    """The Shadow's ``reported`` update for one reading; raises :class:`ModelError` on garbage."""
    x = np.asarray([features.values], dtype=np.float32)
    probability = float(backend.probabilities(x)[0])
    if not 0.0 <= probability <= 1.0:  # also false for NaN
        raise ModelError(f"the model returned {probability!r}, not a probability")
    return {
        "rain_prediction": int(probability >= threshold),
        "rain_probability": round(probability, 4),
    }


# -- the loop ---------------------------------------------------------------------------------


@dataclass
class Settings:
    thing_name: str
    interval: float = DEFAULT_INTERVAL
    backend: str = "auto"
    standardiser_path: str = DEFAULT_STANDARDISER_PATH
    model_path: str = DEFAULT_MODEL_PATH
    tflite_path: str = DEFAULT_TFLITE_PATH
    threshold: float = DEFAULT_THRESHOLD


@dataclass
class State:
    """What the loop carries from one interval to the next."""

    settings: Settings
    client: Any
    backend: Any = None
    last_sequence: int | None = None  # the reading last reported on
    last_problem: str | None = None  # the last problem logged, so it is logged once


def _env_float(name: str, default: float, valid: Callable[[float], bool]) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not valid(value):
        logger.warning("%s=%r is not valid; using %r", name, raw, default)
        return default
    return value


def settings_from_environ() -> Settings:
    env = os.environ
    return Settings(
        thing_name=env.get("THING_NAME", "").strip(),
        interval=_env_float("INFERENCE_INTERVAL", DEFAULT_INTERVAL, lambda v: v > 0),
        backend=env.get("INFERENCE_BACKEND", "").strip().lower() or "auto",
        standardiser_path=env.get("STANDARDISER_PATH", "").strip() or DEFAULT_STANDARDISER_PATH,
        model_path=env.get("MODEL_PATH", "").strip() or DEFAULT_MODEL_PATH,
        tflite_path=env.get("TFLITE_PATH", "").strip() or DEFAULT_TFLITE_PATH,
        threshold=_env_float("RAIN_THRESHOLD", DEFAULT_THRESHOLD, lambda v: 0 <= v <= 1),
    )


def _report_problem(state: State, level: int, problem: str) -> None:
    """Log ``problem`` unless it is the one logged last."""
    if problem != state.last_problem:
        logger.log(level, "%s", problem)
        state.last_problem = problem


def ensure_backend(state: State) -> bool:
    """Load the model if it is not loaded yet; ``True`` when it is ready."""
    if state.backend is not None:
        return True
    s = state.settings
    try:
        state.backend = load_backend(s.backend, s.standardiser_path, s.model_path, s.tflite_path)
    except ModelError as error:
        _report_problem(state, logging.ERROR, f"Model not loaded, retrying: {error}")
        return False
    logger.info("Loaded the rain model with the %s backend", state.backend.name)
    state.last_problem = None
    return True


def get_document(state: State) -> dict | None:
    """The thing's Shadow document, or ``None`` (logged) when there is none to read."""
    name = state.settings.thing_name
    try:
        response = state.client.get_thing_shadow(thingName=name)
        return json.loads(response["payload"])
    except ShadowError as error:
        if _NOT_FOUND.search(str(error)):
            _report_problem(state, logging.WARNING, f"No Shadow for {name} yet: {error}")
        else:
            _report_problem(state, logging.ERROR, f"Getting the Shadow of {name} failed: {error}")
    except (KeyError, TypeError, ValueError) as error:
        _report_problem(state, logging.ERROR, f"The Shadow of {name} is not JSON: {error}")
    return None


def _new_features(state: State, document: dict) -> Features | None:
    try:
        features = read_features(document)
    except InvalidFeatures as error:
        _report_problem(state, logging.ERROR, f"No prediction, bad reading: {error}")
        return None
    return None if features.sequence == state.last_sequence else features


def _write(state: State, reported: dict) -> bool:
    name = state.settings.thing_name
    payload = json.dumps({"state": {"reported": reported}}, allow_nan=False).encode("utf-8")
    try:
        state.client.update_thing_shadow(thingName=name, payload=payload)
    except ShadowError as error:
        _report_problem(state, logging.ERROR, f"Shadow update of {name} was refused: {error}")
        return False
    return True


def step(state: State) -> dict | None:
    """One interval's work; the ``reported`` update written, or ``None``."""
    if not state.settings.thing_name:
        _report_problem(state, logging.ERROR, "THING_NAME is not set: no Shadow to read")
        return None
    if not ensure_backend(state):
        return None
    document = get_document(state)
    features = None if document is None else _new_features(state, document)
    if features is None:
        return None
    try:
        reported = predict(state.backend, features, state.settings.threshold)
    except Exception as error:  # a model that fails to run is reloaded next interval
        _report_problem(state, logging.ERROR, f"Prediction failed, reloading the model: {error}")
        state.backend = None
        return None
    if not _write(state, reported):
        return None
    state.last_sequence, state.last_problem = features.sequence, None
    logger.info("Reading %d: %s", features.sequence, reported)
    return reported


def run_forever(state: State | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
    """The long-lived loop: one step, then a pause, for as long as the core runs us."""
    if state is None:
        state = State(settings_from_environ(), shadow_client.client())
    while True:
        try:
            step(state)
        except Exception:  # never let one bad interval end the Lambda
            logger.exception("Unexpected error in the inference loop")
        sleep(state.settings.interval)


def function_handler(event: Any, context: Any) -> None:
    """Nothing to do per invocation: the loop started at import does the work."""
    return None


# Pinned Lambdas are loaded once, when the core starts; off a core, importing does nothing.
if os.environ.get("MY_FUNCTION_ARN"):
    run_forever()
