"""ML resources on the simulated core: unpacked where the functions that use them look."""

from __future__ import annotations

import zipfile

import pytest

from harness.ml_resources import MLResourceError
from tests.harness.sim_helpers import simulate

READER = """
import os
import greengrasssdk
client = greengrasssdk.client("iot-data")

def function_handler(event, context):
    path = os.environ["MODEL_PATH"]
    try:
        with open(os.path.join(path, "weights.txt")) as f:
            text = f.read()
    except OSError as error:
        text = type(error).__name__
    client.publish(topic="out/reader", payload=path + " " + text)
"""


def group(uses=("model",)):
    return {
        "ml_resources": [{"name": "model", "s3_uri": "s3://greengrass-models/model.zip",
                          "destination": "/ggml/tensorflow/model"}],
        "functions": [{"name": "reader", "module": "reader_fn", "ml_resources": list(uses),
                       "environment": {"MODEL_PATH": "/ggml/tensorflow/model"}}],
        "devices": [{"thing": "sensor"}],
        "subscriptions": [
            {"source": "device:sensor", "subject": "go", "target": "function:reader"},
            {"source": "function:reader", "subject": "out/reader", "target": "cloud"},
        ],
    }


def read_once(sim):
    sim.publish("sensor", "go", {})
    sim.run(1)
    return sim.messages("out/reader")[-1].payload.decode()


@pytest.fixture
def model_zip(tmp_path):
    path = tmp_path / "model.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights.txt", "w=1")
    return path


def test_a_zip_is_unpacked_where_the_function_looks(tmp_path, model_zip):
    (tmp_path / "g").mkdir()
    with simulate(tmp_path / "g", group(), {"reader_fn": READER},
                  ml_resources={"model": model_zip}) as sim:
        path, text = read_once(sim).split(" ", 1)
        assert text == "w=1"
        assert path.endswith("/ggml/tensorflow/model") and path != "/ggml/tensorflow/model"
    assert not (tmp_path / path).exists()  # removed on close


def test_a_folder_source_is_copied(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.txt").write_text("w=2")
    (tmp_path / "g").mkdir()
    with simulate(tmp_path / "g", group(), {"reader_fn": READER},
                  ml_resources={"model": folder}) as sim:
        assert read_once(sim).endswith(" w=2")


def test_functions_without_the_resource_do_not_see_it(tmp_path, model_zip):
    (tmp_path / "g").mkdir()
    with simulate(tmp_path / "g", group(uses=()), {"reader_fn": READER},
                  ml_resources={"model": model_zip}) as sim:
        assert read_once(sim) == "/ggml/tensorflow/model FileNotFoundError"


@pytest.mark.parametrize(("sources", "message"), [
    ({}, "'model' .* has no local source"),
    ({"model": "missing.zip"}, "does not exist"),
])
def test_a_resource_that_cannot_be_placed_fails_the_start(tmp_path, sources, message):
    with pytest.raises(MLResourceError, match=message):
        simulate(tmp_path, group(), {"reader_fn": READER}, ml_resources=sources)


def test_a_corrupt_zip_fails_the_start(tmp_path):
    bad = tmp_path / "model.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "g").mkdir()
    with pytest.raises(MLResourceError, match="not a valid zip"):
        simulate(tmp_path / "g", group(), {"reader_fn": READER}, ml_resources={"model": bad})


def test_a_zip_reaching_outside_its_folder_is_refused(tmp_path):
    evil = tmp_path / "model.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../../escape.txt", "x")
    (tmp_path / "g").mkdir()
    with pytest.raises(MLResourceError, match="outside the resource's folder"):
        simulate(tmp_path / "g", group(), {"reader_fn": READER}, ml_resources={"model": evil})
