"""ML resources on the simulated core: unpacked where the functions that use them look."""

from __future__ import annotations

import re
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


WHERE = "ML resource 'model' (s3://greengrass-models/model.zip -> /ggml/tensorflow/model): "
WEIGHTS = b"w=1 " * 256


def damaged_zip(path, damage):
    """A zip of ``weights.txt`` with ``damage`` done to its bytes."""
    method = zipfile.ZIP_DEFLATED if damage == "deflate" else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("weights.txt", WEIGHTS if damage != "deflate" else bytes(range(256)) * 8)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        del data[len(data) // 2:]
    elif damage == "crc":
        data[data.index(WEIGHTS) + 10] ^= 0xFF  # stored data no longer matches its CRC-32
    elif damage == "deflate":
        start = 30 + len("weights.txt")  # the local header, then the deflate stream
        data[start:start + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("damage", "detail"), [
    ("truncated", r"\(File is not a zip file\)"),
    ("crc", r"\('weights.txt' fails its CRC-32 or header check\)"),
    ("deflate", r"\(Error -3 while decompressing data: .+\)"),  # zlib.error
])
def test_a_damaged_zip_fails_the_start_naming_resource_and_file(tmp_path, damage, detail):
    bad = damaged_zip(tmp_path / "model.zip", damage)
    (tmp_path / "g").mkdir()
    with pytest.raises(MLResourceError, match=(
        re.escape(f"{WHERE}{bad} is not a valid zip ") + detail + "$"
    )):
        simulate(tmp_path / "g", group(), {"reader_fn": READER}, ml_resources={"model": bad})


@pytest.mark.parametrize("entry", ["/etc/escape.txt", "weights/../../escape.txt"])
def test_absolute_and_climbing_entries_are_refused_before_anything_is_unpacked(tmp_path, entry):
    evil = tmp_path / "model.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("weights.txt", "w=1")  # a good entry first: not extracted either
        archive.writestr(entry, "x")
    (tmp_path / "g").mkdir()
    with pytest.raises(MLResourceError) as caught:
        simulate(tmp_path / "g", group(), {"reader_fn": READER}, ml_resources={"model": evil})
    assert str(caught.value) == (
        f"{WHERE}{evil} holds {entry!r}, outside the resource's folder /ggml/tensorflow/model "
        "(zip-slip)")


def test_a_zip_that_cannot_be_laid_out_fails_the_start(tmp_path):
    odd = tmp_path / "model.zip"
    with zipfile.ZipFile(odd, "w") as archive:
        archive.writestr("weights", "a file")
        archive.writestr("weights/inner.txt", "and a folder of the same name")
    (tmp_path / "g").mkdir()
    with pytest.raises(MLResourceError, match=re.escape(
        f"{WHERE}{odd} cannot be unpacked to /ggml/tensorflow/model: "
    )):
        simulate(tmp_path / "g", group(), {"reader_fn": READER}, ml_resources={"model": odd})
