"""The rain inference Lambda: backends, reading the Shadow, the loop's logic, and the simulator."""

from __future__ import annotations

import importlib
import json
import logging
import math
import shutil
import sys
from itertools import pairwise
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import yaml

from fakes.core_modules import core_runtime_on_path, forget_core_modules
from harness.simulation import DEFAULT_GROUP
from ml.data import load_split

ARTIFACTS = Path(__file__).resolve().parents[2] / "ml" / "artifacts"
STANDARDISER, PREDICTOR = str(ARTIFACTS / "standardiser"), str(ARTIFACTS / "rain_predictor")
TFLITE = ARTIFACTS / "rain_pipeline.tflite"
THING = "weather-station"
READING = {
    "pressure": 1013.25,
    "temperature": 12.5,
    "humidity": 55.0,
    "sequence": 1,
    "message": "Success",
}
THRESHOLD = json.loads((ARTIFACTS / "metrics.json").read_text())["model"]["threshold"]
NOT_FOUND = 'Request for shadow state returned error code 404 with message "No shadow exists"'


@pytest.fixture(scope="module")
def inference() -> ModuleType:
    """The Lambda module, imported off a core (no ``MY_FUNCTION_ARN``: no loop) with the real
    greengrasssdk, whose core-only modules leave ``sys.modules`` again right after."""
    forget_core_modules()
    sys.modules.pop("lambdas.inference", None)
    with pytest.MonkeyPatch.context() as patch, core_runtime_on_path():
        patch.delenv("MY_FUNCTION_ARN", raising=False)
        module = importlib.import_module("lambdas.inference")
    forget_core_modules()
    yield module
    sys.modules.pop("lambdas.inference", None)


def shadow(**reported):
    return {"state": {"reported": reported}, "version": 1}


class FakeShadowClient:
    """Answers ``get_thing_shadow`` from ``document`` (``None``: 404) and records updates,
    merging them into the document as the Shadow service does."""

    def __init__(self, error: type[Exception], document: dict | None = None) -> None:
        self.error = error  # the SDK's ShadowError, as the Lambda imported it
        self.document = document
        self.gets: list[str] = []
        self.updates: list[dict] = []
        self.refuse_updates = False

    def get_thing_shadow(self, thingName: str) -> dict:
        self.gets.append(thingName)
        if self.document is None:
            raise self.error(NOT_FOUND)
        return {"payload": json.dumps(self.document).encode("utf-8")}

    def update_thing_shadow(self, thingName: str, payload: bytes) -> dict:
        if self.refuse_updates:
            raise self.error('Request for shadow state returned error code 500 with message "x"')
        update = json.loads(payload)
        self.updates.append(update)
        self.document["state"]["reported"].update(update["state"]["reported"])
        self.document["version"] += 1
        return {"payload": b"{}"}

    def new_reading(self, **changes) -> None:
        self.document["state"]["reported"].update(changes)
        self.document["version"] += 1


def make_state(inference, client, tflite_path=TFLITE, backend="auto", standardiser=STANDARDISER):
    settings = inference.Settings(
        thing_name=THING,
        backend=backend,
        tflite_path=str(tflite_path),
        standardiser_path=standardiser,
        model_path=PREDICTOR,
    )
    return inference.State(settings, client)


@pytest.fixture(scope="module")
def tflite_backend(inference):
    return inference.load_backend("tflite", tflite_path=str(TFLITE))


@pytest.fixture(scope="module")
def tensorflow_backend(inference):
    return inference.load_backend("tensorflow", STANDARDISER, PREDICTOR)


# -- backends -----------------------------------------------------------------------------------


def test_both_backends_agree_on_the_test_months(inference, tflite_backend, tensorflow_backend):
    x = load_split().x_test
    p_lite = tflite_backend.probabilities(x)
    p_tf = tensorflow_backend.probabilities(x)
    assert p_lite.shape == p_tf.shape == (len(x),)
    assert np.max(np.abs(p_lite - p_tf)) < 1e-5
    threshold = inference.DEFAULT_THRESHOLD
    assert np.array_equal(p_lite >= threshold, p_tf >= threshold)
    assert 0 < np.mean(p_tf >= threshold) < 1  # both classes occur: the agreement means something


def test_one_reading_through_each_backend_matches_the_batch(
    inference, tflite_backend, tensorflow_backend
):
    x = load_split().x_test[:5]
    for backend in (tflite_backend, tensorflow_backend):
        batch = backend.probabilities(x)
        for row, expected in zip(x, batch, strict=True):
            features = inference.Features(1, tuple(float(v) for v in row))
            result = inference.predict(backend, features)
            assert result["rain_probability"] == pytest.approx(expected, abs=5e-5)
            assert result["rain_prediction"] == int(expected >= inference.DEFAULT_THRESHOLD)


def test_threshold_default_is_the_shipped_one(inference):
    assert inference.DEFAULT_THRESHOLD == THRESHOLD


@pytest.mark.parametrize("path", [TFLITE, ARTIFACTS])  # the file, or the folder holding it
def test_auto_prefers_tflite(inference, path):
    assert inference.load_backend("auto", STANDARDISER, PREDICTOR, str(path)).name == "tflite"


def test_auto_falls_back_to_tensorflow_without_a_tflite_file(inference, tmp_path):
    backend = inference.load_backend("auto", STANDARDISER, PREDICTOR, str(tmp_path / "none"))
    assert backend.name == "tensorflow"


def test_unknown_backend_is_a_model_error(inference):
    with pytest.raises(inference.ModelError, match="onnx"):
        inference.load_backend("onnx")


def test_corrupt_tflite_file_is_a_clear_error(inference, tmp_path):
    (tmp_path / "rain_pipeline.tflite").write_bytes(b"not a flatbuffer")
    with pytest.raises(inference.ModelError, match="corrupt"):
        inference.load_backend("tflite", tflite_path=str(tmp_path))


def test_corrupt_saved_model_is_a_clear_error(inference, tmp_path):
    broken = tmp_path / "standardiser"
    shutil.copytree(STANDARDISER, broken)
    (broken / "saved_model.pb").write_bytes(b"\x00garbage")
    with pytest.raises(inference.ModelError, match=r"standardiser SavedModel .* corrupt"):
        inference.load_backend("tensorflow", str(broken), PREDICTOR)


def test_missing_saved_model_names_the_folder(inference, tmp_path):
    with pytest.raises(inference.ModelError, match="no rain_predictor SavedModel"):
        inference.load_backend("tensorflow", STANDARDISER, str(tmp_path))


# -- each backend's plumbing, against an independent forward pass -------------------------------

# Readings (pressure hPa, temperature C, humidity %RH) the model rates clearly: rain, no rain,
# and mid-range ones where the probability moves most with each input. All are at least 0.02
# from the threshold (checked below), so no class can flip on another CPU.
RAINY = (1000.0, 15.0, 98.0)
DRY = (1030.0, 5.0, 30.0)
MID = ((1015.0, 15.0, 75.0), (1010.0, 20.0, 80.0), (1000.0, 10.0, 70.0), (1008.0, 14.0, 80.0))
ROWS = np.asarray([RAINY, DRY, *MID, (1013.25, 12.5, 55.0)], dtype=np.float32)
# float32 inference and the float64 reference differ by about 1e-6; 1e-4 leaves room for any
# CPU's summation order, while a wrong index, order, shape or scaling moves a row by far more.
TOLERANCE = 1e-4


class ReferencePipeline:
    """The shipped pipeline recomputed in float64 NumPy from the SavedModels' checkpoints:
    ``(x - mean) / std``, ReLU layers, a sigmoid. It shares nothing with the Lambda's plumbing
    (no serving signature, no TFLite tensor), so a backend that feeds or reads the wrong thing
    disagrees with it."""

    def __init__(self) -> None:
        import tensorflow as tf  # already imported by the tensorflow backend

        scaler = tf.train.load_checkpoint(str(Path(STANDARDISER, "variables", "variables")))
        self.mean = scaler.get_tensor("mean/.ATTRIBUTES/VARIABLE_VALUE").astype(np.float64)
        self.std = scaler.get_tensor("std/.ATTRIBUTES/VARIABLE_VALUE").astype(np.float64)
        net = tf.train.load_checkpoint(str(Path(PREDICTOR, "variables", "variables")))
        names = sorted(
            (name for name in net.get_variable_to_shape_map() if name.startswith("variables/")),
            key=lambda name: int(name.split("/")[1]),
        )  # kernel, bias, kernel, bias, ... in layer order
        flat = [net.get_tensor(name).astype(np.float64) for name in names]
        self.layers = list(zip(flat[::2], flat[1::2], strict=True))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        h = (np.asarray(x, dtype=np.float64) - self.mean) / self.std
        for kernel, bias in self.layers[:-1]:
            h = np.maximum(h @ kernel + bias, 0.0)
        kernel, bias = self.layers[-1]
        return 1.0 / (1.0 + np.exp(-(h @ kernel + bias)[:, 0]))


@pytest.fixture(scope="module")
def reference() -> ReferencePipeline:
    return ReferencePipeline()


@pytest.fixture(params=["tflite", "tensorflow"])
def fresh_backend(request, inference):
    """Each backend, newly loaded: a test sees every batch size it feeds from the start."""
    return inference.load_backend(request.param, STANDARDISER, PREDICTOR, str(TFLITE))


def test_the_reference_and_its_readings_can_tell_bugs_apart(reference):
    hidden = json.loads((ARTIFACTS / "metrics.json").read_text())["model"]["hidden"]
    sizes = [3, *hidden, 1]  # the layers were read in order: they chain features to y
    expected = [((a, b), (b,)) for a, b in pairwise(sizes)]
    assert [(kernel.shape, bias.shape) for kernel, bias in reference.layers] == expected
    p = reference.probabilities(ROWS)
    assert p[0] > 0.9 and p[1] < 0.05  # rain and no rain, as a forecaster would expect
    assert np.min(np.abs(p - THRESHOLD)) > 0.02
    gaps = np.abs(p[:, None] - p[None, :])[~np.eye(len(p), dtype=bool)]
    assert np.min(gaps) > 10 * TOLERANCE  # swapped or repeated rows show


def test_each_backend_computes_the_shipped_pipeline(fresh_backend, reference):
    p = fresh_backend.probabilities(ROWS)
    assert p.shape == (len(ROWS),)
    np.testing.assert_allclose(p, reference.probabilities(ROWS), rtol=0, atol=TOLERANCE)


def test_each_backend_takes_batches_growing_and_shrinking(fresh_backend, reference):
    """TFLite's input tensor is resized to each batch: a size seen before, one more or one
    fewer rows, and 3 (the number of features) must all give every row its own answer."""
    start = 0
    for size in (3, 1, 2, 3, 7, 1, 1, 5, 3):
        rows = np.roll(ROWS, -start, axis=0)[:size]
        start += size
        p = fresh_backend.probabilities(rows)
        assert p.shape == (size,)
        expected = reference.probabilities(rows)
        np.testing.assert_allclose(p, expected, rtol=0, atol=TOLERANCE, err_msg=f"{size} rows")


@pytest.mark.parametrize("backend", ["tflite", "tensorflow"])
def test_the_lambda_writes_the_models_answer_for_each_reading(inference, reference, backend):
    """From the Shadow's named fields (not in the model's order) to the written update."""
    client = FakeShadowClient(inference.ShadowError, shadow(sequence=0, message="Fail"))
    state = make_state(inference, client, backend=backend)
    for sequence, (pressure, temperature, humidity) in enumerate(ROWS.tolist(), start=1):
        client.new_reading(
            humidity=humidity, temperature=temperature, pressure=pressure,
            message="Success", sequence=sequence,
        )  # fmt: skip
        reported = inference.step(state)
        expected = reference.probabilities([[pressure, temperature, humidity]])[0]
        assert reported["rain_probability"] == pytest.approx(expected, abs=TOLERANCE + 5e-5)
        assert reported["rain_prediction"] == int(expected >= THRESHOLD)
    assert [u["state"]["reported"]["rain_prediction"] for u in client.updates[:2]] == [1, 0]
    assert state.backend.name == backend


class ConstantBackend:
    name = "constant"

    def __init__(self, probability: float) -> None:
        self.probability = probability

    def probabilities(self, x):
        return np.full(len(x), self.probability, dtype=np.float32)


@pytest.mark.parametrize(
    ("probability", "prediction"), [(THRESHOLD, 1), (0.49, 0), (0.999999, 1), (0.0, 0)]
)
def test_predict_thresholds_and_rounds(inference, probability, prediction):
    result = inference.predict(ConstantBackend(probability), inference.Features(1, (1, 2, 3)))
    assert result == {
        "rain_prediction": prediction,
        "rain_probability": round(float(np.float32(probability)), 4),
    }


@pytest.mark.parametrize("probability", [math.nan, 1.5, -0.1])
def test_predict_refuses_what_is_not_a_probability(inference, probability):
    with pytest.raises(inference.ModelError, match="not a probability"):
        inference.predict(ConstantBackend(probability), inference.Features(1, (1, 2, 3)))


JUST_BELOW_HALF = float(np.nextafter(np.float32(0.5), np.float32(0)))


@pytest.mark.parametrize(
    ("probability", "threshold", "prediction"),
    [(0.5, 0.5, 1), (JUST_BELOW_HALF, 0.5, 0), (1.0, THRESHOLD, 1), (1.0, 1.0, 1), (0.0, 0.0, 1)],
)
def test_predict_threshold_is_inclusive_and_certainty_is_a_probability(
    inference, probability, threshold, prediction
):
    """Exact float32 values (no arithmetic): at the threshold is rain, and a saturated
    sigmoid's 1.0 or 0.0 is a valid answer."""
    features = inference.Features(1, (1, 2, 3))
    result = inference.predict(ConstantBackend(probability), features, threshold)
    assert result == {"rain_prediction": prediction, "rain_probability": round(probability, 4)}


class RecordingBackend(ConstantBackend):
    def __init__(self, probability: float) -> None:
        super().__init__(probability)
        self.inputs: list[np.ndarray] = []

    def probabilities(self, x):
        self.inputs.append(np.array(x, copy=True))
        return super().probabilities(x)


def test_predict_feeds_one_float32_row_in_the_model_order(inference):
    document = shadow(humidity=55.3, sequence=4, temperature=-2.75, pressure=1013.25)
    backend = RecordingBackend(0.25)
    inference.predict(backend, inference.read_features(document))
    (x,) = backend.inputs
    assert x.dtype == np.float32 and x.shape == (1, 3)
    assert x.tolist() == [[1013.25, -2.75, float(np.float32(55.3))]]  # float32, not rounder


# -- reading the Shadow -------------------------------------------------------------------------


def test_read_features_takes_the_model_order(inference):
    features = inference.read_features(shadow(**READING, rain_prediction=1))
    assert features == inference.Features(1, (1013.25, 12.5, 55.0))


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({}, "no reported state"),
        ({"state": {"reported": None}}, "no reported state"),
        ([1], "no reported state"),
        (shadow(**{**READING, "sequence": None}), "'sequence'"),
        (shadow(**{**READING, "sequence": True}), "'sequence'"),
        (shadow(**{**READING, "sequence": "1"}), "'sequence'"),
        (shadow(**{k: v for k, v in READING.items() if k != "sequence"}), "'sequence'"),
        (shadow(**{k: v for k, v in READING.items() if k != "pressure"}), "'pressure' is missing"),
        (shadow(**{**READING, "humidity": None}), "'humidity' is missing or null"),
        (shadow(**{**READING, "temperature": "12"}), "'temperature' is not a number"),
        (shadow(**{**READING, "temperature": False}), "'temperature' is not a number"),
        (shadow(**{**READING, "pressure": math.nan}), "'pressure' is not finite"),
        (shadow(**{**READING, "humidity": math.inf}), "'humidity' is not finite"),
        (shadow(**{**READING, "message": "Fail"}), "message 'Fail'"),
    ],
)
def test_read_features_refuses_bad_documents(inference, document, problem):
    with pytest.raises(inference.InvalidFeatures, match=problem):
        inference.read_features(document)


# -- the loop -----------------------------------------------------------------------------------


def test_predicts_once_per_new_sequence(inference, caplog):
    client = FakeShadowClient(inference.ShadowError, shadow(**READING))
    state = make_state(inference, client)
    first = inference.step(state)
    assert first is not None and set(first) == {"rain_prediction", "rain_probability"}
    assert client.updates == [{"state": {"reported": first}}]
    for _ in range(3):  # its own write bumped the version but not the sequence
        assert inference.step(state) is None
    assert len(client.updates) == 1 and len(client.gets) == 4
    client.new_reading(sequence=2, humidity=99.0, temperature=2.0)
    assert inference.step(state) is not None
    assert len(client.updates) == 2
    assert client.document["version"] == 1 + 1 + 1 + 1  # two readings, two predictions


@pytest.mark.parametrize(
    "bad",
    [{"humidity": None}, {"pressure": math.nan}, {"temperature": math.inf}, {"message": "Fail"}],
)
def test_bad_readings_are_logged_once_and_never_written(inference, caplog, bad):
    client = FakeShadowClient(inference.ShadowError, shadow(**{**READING, **bad}))
    state = make_state(inference, client)
    with caplog.at_level(logging.INFO, logger=inference.__name__):
        for _ in range(3):
            assert inference.step(state) is None
    assert client.updates == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "bad reading" in errors[0].getMessage()
    client.new_reading(**{**READING, "sequence": 2})  # the next good reading is predicted for
    assert inference.step(state) is not None
    assert len(client.updates) == 1


def test_recovers_after_404(inference, caplog):
    client = FakeShadowClient(inference.ShadowError, None)
    state = make_state(inference, client)
    with caplog.at_level(logging.WARNING, logger=inference.__name__):
        assert inference.step(state) is None
        assert inference.step(state) is None
    assert client.updates == [] and len(client.gets) == 2
    assert [r.getMessage() for r in caplog.records] == [f"No Shadow for {THING} yet: {NOT_FOUND}"]
    client.document = shadow(**READING)
    assert inference.step(state) is not None
    assert len(client.updates) == 1


def test_other_shadow_errors_are_logged_as_errors(inference, caplog):
    class Refusing(FakeShadowClient):
        def get_thing_shadow(self, thingName):
            raise self.error('Request for shadow state returned error code 403 with message "no"')

    with caplog.at_level(logging.WARNING, logger=inference.__name__):
        assert inference.step(make_state(inference, Refusing(inference.ShadowError))) is None
    assert caplog.records[0].levelno == logging.ERROR
    assert "Getting the Shadow of weather-station failed" in caplog.text


def test_a_refused_write_is_retried_next_interval(inference):
    client = FakeShadowClient(inference.ShadowError, shadow(**READING))
    state = make_state(inference, client)
    client.refuse_updates = True
    assert inference.step(state) is None
    assert state.last_sequence is None
    client.refuse_updates = False
    assert inference.step(state) is not None
    assert len(client.updates) == 1


def test_waits_for_the_model_folder_then_predicts(inference, tmp_path, caplog):
    folder = tmp_path / "rain_pipeline"
    client = FakeShadowClient(inference.ShadowError, shadow(**READING))
    state = make_state(inference, client, tflite_path=folder, backend="tflite")
    with caplog.at_level(logging.ERROR, logger=inference.__name__):
        assert inference.step(state) is None
        assert inference.step(state) is None
    assert client.gets == [] and client.updates == []
    assert len(caplog.records) == 1  # logged once, retried every interval
    assert "Model not loaded" in caplog.text and str(folder) in caplog.text
    folder.mkdir()
    shutil.copy(TFLITE, folder)
    assert inference.step(state) is not None
    assert state.backend.name == "tflite"


def test_corrupt_model_logs_clearly_and_recovers_when_replaced(inference, tmp_path, caplog):
    broken = tmp_path / "rain_pipeline.tflite"
    broken.write_bytes(b"\x00" * 64)
    client = FakeShadowClient(inference.ShadowError, shadow(**READING))
    state = make_state(inference, client, tflite_path=broken, backend="tflite")
    with caplog.at_level(logging.ERROR, logger=inference.__name__):
        assert inference.step(state) is None
    assert "corrupt" in caplog.text and client.updates == []
    shutil.copy(TFLITE, broken)
    assert inference.step(state) is not None


def test_a_model_that_fails_to_run_is_reloaded(inference, caplog):
    client = FakeShadowClient(inference.ShadowError, shadow(**READING))
    state = make_state(inference, client)
    state.backend = ConstantBackend(math.nan)
    with caplog.at_level(logging.ERROR, logger=inference.__name__):
        assert inference.step(state) is None
    assert "Prediction failed" in caplog.text and client.updates == []
    assert state.backend is None
    assert inference.step(state) is not None  # the real model, loaded again
    assert state.backend.name == "tflite"


@pytest.mark.parametrize(("threshold", "prediction"), [(0.25, 1), (0.35, 0)])
def test_each_step_uses_the_configured_threshold(inference, threshold, prediction):
    client = FakeShadowClient(inference.ShadowError, shadow(**READING))
    state = make_state(inference, client)
    state.settings.threshold = threshold  # RAIN_THRESHOLD; the shipped one is 0.49
    state.backend = ConstantBackend(0.3)
    assert inference.step(state) == {"rain_prediction": prediction, "rain_probability": 0.3}


def test_without_thing_name_nothing_is_read(inference, caplog):
    client = FakeShadowClient(inference.ShadowError, shadow(**READING))
    state = make_state(inference, client)
    state.settings.thing_name = ""
    with caplog.at_level(logging.ERROR, logger=inference.__name__):
        assert inference.step(state) is None
    assert client.gets == [] and "THING_NAME" in caplog.text


class StopLoop(Exception):
    pass


def test_the_loop_sleeps_the_interval_and_survives_unexpected_errors(
    inference, monkeypatch, caplog
):
    calls, sleeps = [], []

    def flaky_step(state):
        calls.append(state)
        if len(calls) == 2:
            raise RuntimeError("boom")

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise StopLoop

    monkeypatch.setattr(inference, "step", flaky_step)
    state = make_state(inference, FakeShadowClient(inference.ShadowError))
    state.settings.interval = 2.5
    with pytest.raises(StopLoop), caplog.at_level(logging.ERROR, logger=inference.__name__):
        inference.run_forever(state, sleep=sleep)
    assert len(calls) == 3 and sleeps == [2.5, 2.5, 2.5]
    assert "Unexpected error in the inference loop" in caplog.text and "boom" in caplog.text


def test_settings_from_the_environment(inference, monkeypatch, caplog):
    monkeypatch.setenv("THING_NAME", " ws ")
    monkeypatch.setenv("INFERENCE_INTERVAL", "0")
    monkeypatch.setenv("RAIN_THRESHOLD", "0.7")
    monkeypatch.setenv("INFERENCE_BACKEND", "TFLite")
    monkeypatch.delenv("TFLITE_PATH", raising=False)
    with caplog.at_level(logging.WARNING, logger=inference.__name__):
        settings = inference.settings_from_environ()
    assert settings == inference.Settings(thing_name="ws", backend="tflite", threshold=0.7)
    assert "INFERENCE_INTERVAL='0' is not valid" in caplog.text


def test_off_a_core_importing_does_not_loop(inference):
    assert inference.function_handler({}, None) is None  # we got here: the import returned


# -- on the simulated core ----------------------------------------------------------------------

SENSOR, TOPIC = "bme680-sensor", "bme680/readings"
RESOURCES = {
    "standardiser": "/ggml/tensorflow/standardiser",
    "rain_predictor": "/ggml/tensorflow/rain_predictor",
    "rain_pipeline": "/ggml/tensorflow/rain_pipeline",
}
SOURCES = {
    "standardiser": ARTIFACTS / "standardiser.zip",
    "rain_predictor": ARTIFACTS / "rain_predictor.zip",
    "rain_pipeline": TFLITE,
}


def _has_inference(group: dict) -> bool:
    return any(f.get("name") == "inference" for f in group.get("functions", []))


def group_with_inference(folder: Path, **environment: str) -> Path:
    """The shipped group with this test's inference function and ML resources (any shipped
    ones replaced), written to ``folder``."""
    group = yaml.safe_load(DEFAULT_GROUP.read_text())
    group["ml_resources"] = [
        {
            "name": name,
            "s3_uri": f"s3://greengrass-weather-models/{name}.zip",
            "destination": destination,
        }
        for name, destination in RESOURCES.items()
    ]
    group["functions"] = [f for f in group["functions"] if f["name"] != "inference"]
    group["functions"].append({
        "name": "inference", "module": "inference", "pinned": True, "timeout": 60,
        "memory_mb": 256, "encoding": "json", "ml_resources": list(RESOURCES),
        "environment": {
            "THING_NAME": THING, "INFERENCE_INTERVAL": "10",
            "STANDARDISER_PATH": RESOURCES["standardiser"],
            "MODEL_PATH": RESOURCES["rain_predictor"],
            "TFLITE_PATH": RESOURCES["rain_pipeline"], **environment,
        },
        "access_control": {"aws.greengrass.ShadowManager": {"test:inference:shadow": {
            "operations": ["aws.greengrass#GetThingShadow", "aws.greengrass#UpdateThingShadow"],
            "resources": [f"$aws/things/{THING}/shadow"]}}},
    })  # fmt: skip
    path = folder / "group.yaml"
    path.write_text(yaml.safe_dump(group))
    return path


@pytest.fixture(params=["test group", "shipped group"])
def inference_sim(request, simulation_factory, tmp_path):
    """A simulation running the inference Lambda: this test's group, and the shipped one once
    it deploys the function (with its resources taken from ml/artifacts by name)."""
    if request.param == "shipped group":
        if not _has_inference(yaml.safe_load(DEFAULT_GROUP.read_text())):
            pytest.skip("lambdas/group.yaml does not deploy the inference function yet")
        return simulation_factory(DEFAULT_GROUP)
    path = group_with_inference(tmp_path)
    return simulation_factory(path, code_dir=DEFAULT_GROUP.parent, ml_resources=SOURCES)


def _reported(sim):
    document = sim.shadow(THING)
    return None if document is None else document["state"]["reported"]


def test_predictions_appear_for_each_reading_in_the_simulator(inference_sim):
    sim = inference_sim
    sim.run(30)  # no shadow yet: the Lambda waits (404)
    assert sim.shadow(THING) is None
    for sequence in (1, 2, 3):
        sim.publish(SENSOR, TOPIC, {**READING, "sequence": sequence})
        sim.run(20)
        state = _reported(sim)
        assert state["sequence"] == sequence
        assert state["rain_prediction"] in (0, 1)
        assert 0 <= state["rain_probability"] <= 1
        assert sim.shadow(THING)["version"] == 2 * sequence  # republish's, then one prediction
    sim.run(60)
    assert sim.shadow(THING)["version"] == 6  # nothing more without new readings
    logs = "\n".join(sim.logs("inference"))
    assert "tflite backend" in logs and "No Shadow for weather-station yet" in logs


def test_a_failed_reading_gets_no_prediction_in_the_simulator(inference_sim):
    sim = inference_sim
    sim.publish(SENSOR, TOPIC, READING)
    sim.run(20)
    before = _reported(sim)
    sim.publish(SENSOR, TOPIC, {**READING, "sequence": 2, "humidity": None})
    sim.run(30)
    after = _reported(sim)
    assert after["message"] == "Fail" and after["sequence"] == 2
    assert after["rain_probability"] == before["rain_probability"]  # not rewritten
    assert sim.shadow(THING)["version"] == 3  # reading, prediction, the Fail report
    assert sum("bad reading" in line for line in sim.logs("inference")) == 1
    sim.publish(SENSOR, TOPIC, {**READING, "sequence": 3})
    sim.run(20)
    assert sim.shadow(THING)["version"] == 5  # predicting again


@pytest.mark.parametrize("model", ["missing", "corrupt"])
def test_a_bad_model_folder_waits_then_recovers_in_the_simulator(
    simulation_factory, tmp_path, model
):
    source = tmp_path / "rain_pipeline"
    source.mkdir()
    if model == "corrupt":
        (source / "rain_pipeline.tflite").write_bytes(b"\x00" * 64)
    path = group_with_inference(tmp_path, INFERENCE_BACKEND="tflite")
    sim = simulation_factory(
        path, code_dir=DEFAULT_GROUP.parent,
        ml_resources={**SOURCES, "rain_pipeline": source},
    )  # fmt: skip
    sim.publish(SENSOR, TOPIC, READING)
    sim.run(60)
    assert sim.shadow(THING)["version"] == 1  # only republish's update
    assert "rain_probability" not in _reported(sim)
    errors = [line for line in sim.logs("inference") if "Model not loaded" in line]
    assert len(errors) == 1  # once, not every interval
    assert ("corrupt" if model == "corrupt" else "no TFLite model") in errors[0]
    unpacked = Path(sim.ml.local_path(RESOURCES["rain_pipeline"]))
    shutil.copy(TFLITE, unpacked / "rain_pipeline.tflite")  # the deployment fixes it
    sim.run(10)
    assert _reported(sim)["rain_prediction"] in (0, 1)
    assert sim.shadow(THING)["version"] == 2
