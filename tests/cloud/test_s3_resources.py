"""The group's ML resources from S3 (moto): uploaded, downloaded, unpacked when the simulated
core starts; a missing object, a corrupt zip, a zip-slip entry or a destination clash fails
the start; buckets the default Greengrass service role cannot read are warned about."""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from moto import mock_aws

from harness.cloud.s3_resources import (
    SERVICE_ROLE_S3_OBJECTS,
    S3ResourceError,
    ServiceRoleWarning,
    bucket_warnings,
    object_arn,
    s3_sources,
    service_role_can_read,
    upload_artifacts,
)
from harness.group import Group, GroupError, load_group
from harness.ml_resources import LOCAL_ARTIFACTS, MLResourceError
from harness.simulation import DEFAULT_GROUP, Simulation

REGION = "us-east-1"
BUCKET = "greengrass-weather-models"
THING = "weather-station"
READING = {"pressure": 1013.25, "temperature": 12.5, "humidity": 55.0, "sequence": 1,
           "message": "Success"}


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("s3", region_name=REGION)


@pytest.fixture(scope="module")
def group() -> Group:
    return load_group(DEFAULT_GROUP)


def group_file(folder: Path, **changes: Any) -> Path:
    """The shipped group with its ``ml_resources`` changed (``{name: {field: value}}``),
    written to ``folder``; its Lambdas stay in ``lambdas/`` (pass ``code_dir``)."""
    data = yaml.safe_load(DEFAULT_GROUP.read_text())
    for resource in data["ml_resources"]:
        resource.update(changes.get(resource["name"], {}))
    path = folder / "group.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def start(group: Group, s3: Any, folder: Path, **options: Any) -> Simulation:
    return Simulation(group, code_dir=DEFAULT_GROUP.parent,
                      ml_resources=s3_sources(group, s3, folder), **options)


# ---------------------------------------------------------------- the happy path


def test_upload_creates_the_bucket_and_puts_each_zip_at_its_uri(s3, group):
    assert upload_artifacts(s3, group) == {r.name: r.s3_uri for r in group.ml_resources}
    for resource in group.ml_resources:
        body = s3.get_object(Bucket=resource.bucket, Key=resource.key)["Body"].read()
        assert body == (LOCAL_ARTIFACTS / f"{resource.name}.zip").read_bytes()
    upload_artifacts(s3, group)  # again: the bucket exists, the objects are replaced
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]


def test_the_inference_lambda_gets_its_models_from_s3(s3, group, tmp_path):
    upload_artifacts(s3, group)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ServiceRoleWarning)  # the shipped bucket is readable
        sources = s3_sources(group, s3, tmp_path / "downloads")
    assert sources == {r.name: tmp_path / "downloads" / r.name / f"{r.name}.zip"
                       for r in group.ml_resources}
    with Simulation.from_group(DEFAULT_GROUP, ml_resources=sources) as sim:
        unpacked = Path(sim.ml.local_path("/ggml/tensorflow/rain_pipeline"))
        assert unpacked.is_relative_to(sim.ml.root)
        assert (unpacked / "rain_pipeline.tflite").read_bytes() == (
            LOCAL_ARTIFACTS / "rain_pipeline.tflite").read_bytes()
        assert (Path(sim.ml.local_path("/ggml/tensorflow/standardiser"))
                / "saved_model.pb").is_file()
        sim.publish("bme680-sensor", "bme680/readings", READING)
        sim.run(60)
        reported = sim.shadow(THING)["state"]["reported"]
        assert reported["sequence"] == 1
        assert reported["rain_prediction"] in (0, 1)
        assert 0 <= reported["rain_probability"] <= 1
        assert not any("Model not loaded" in line for line in sim.logs("inference"))


# ---------------------------------------------------------------- what fails the start


@pytest.mark.parametrize(("missing", "code", "cause"), [
    ("object", "NoSuchKey", f"the bucket '{BUCKET}' has no object 'rain_predictor.zip'"),
    ("bucket", "NoSuchBucket", f"the bucket '{BUCKET}' does not exist"),
])
def test_a_missing_object_names_the_resource_uri_and_cause(s3, group, tmp_path, missing,
                                                           code, cause):
    if missing == "object":
        upload_artifacts(s3, group)
        s3.delete_object(Bucket=BUCKET, Key="rain_predictor.zip")
    with pytest.raises(S3ResourceError) as caught:
        s3_sources(group, s3, tmp_path)
    message = str(caught.value)
    first = "rain_predictor" if missing == "object" else "standardiser"
    assert message.startswith(
        f"ML resource '{first}': cannot download s3://{BUCKET}/{first}.zip "
        f"(/ggml/tensorflow/{first} on the core): {code}: ")
    assert message.endswith(cause.replace("rain_predictor", first))
    assert not (tmp_path / first / f"{first}.zip").exists()  # nothing half written
    assert isinstance(caught.value, MLResourceError)  # what a failed start raises


def test_access_denied_names_the_object_arn(group, tmp_path):
    client = boto3.client("s3", region_name=REGION, aws_access_key_id="x",
                          aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("get_object", service_error_code="AccessDenied",
                              service_message="Access Denied", http_status_code=403)
        with pytest.raises(S3ResourceError, match=(
            r"ML resource 'standardiser': cannot download s3://greengrass-weather-models/"
            r"standardiser\.zip .*: AccessDenied: access denied: the caller may not "
            r"s3:GetObject arn:aws:s3:::greengrass-weather-models/standardiser\.zip$"
        )):
            s3_sources(group, client, tmp_path)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_zip_in_s3_fails_the_start(s3, group, tmp_path, damage):
    upload_artifacts(s3, group)
    good = (LOCAL_ARTIFACTS / "standardiser.zip").read_bytes()
    body = b"these are not the models you are looking for" if damage == "garbage" else (
        good[: len(good) // 2])
    s3.put_object(Bucket=BUCKET, Key="standardiser.zip", Body=body)
    with pytest.raises(MLResourceError) as caught:
        start(group, s3, tmp_path)
    message = str(caught.value)
    assert message.startswith(
        f"ML resource 'standardiser' (s3://{BUCKET}/standardiser.zip -> "
        "/ggml/tensorflow/standardiser): ")
    assert f"{tmp_path / 'standardiser' / 'standardiser.zip'} is not a valid zip" in message
    assert Simulation._open is None  # nothing left open: another simulation can start


@pytest.mark.parametrize("entry", ["../../../escape.txt", "/tmp/escape.txt"])
def test_a_zip_slip_entry_in_s3_fails_the_start(s3, group, tmp_path, entry):
    upload_artifacts(s3, group)
    s3.put_object(Bucket=BUCKET, Key="rain_pipeline.zip",
                  Body=zip_bytes({"rain_pipeline.tflite": b"x", entry: b"owned"}))
    with pytest.raises(MLResourceError, match=(
        rf"ML resource 'rain_pipeline' \(s3://{BUCKET}/rain_pipeline\.zip -> "
        rf"/ggml/tensorflow/rain_pipeline\): .*rain_pipeline\.zip holds '{entry}', outside "
        r"the resource's folder /ggml/tensorflow/rain_pipeline \(zip-slip\)"
    )):
        start(group, s3, tmp_path)


@pytest.mark.parametrize("destination", [
    "/ggml/tensorflow/standardiser",  # the same as standardiser's
    "/ggml/tensorflow/standardiser/predictor",  # inside it
])
def test_a_destination_clash_is_refused_when_the_group_loads(tmp_path, destination):
    # The group's own validation refuses it, so the core is never reached.
    path = group_file(tmp_path, rain_predictor={"destination": destination})
    line = [number for number, text in enumerate(path.read_text().splitlines(), 1)
            if text.strip() == f"destination: {destination}"][-1]  # rain_predictor's
    with pytest.raises(GroupError) as caught:
        Simulation.from_group(path, code_dir=DEFAULT_GROUP.parent)
    assert str(caught.value) == (
        f"{path}:{line}: ml_resources.1.destination: {destination!r} clashes with "
        "ml_resources.0.destination '/ggml/tensorflow/standardiser' (the same, or one "
        "inside the other)")


# ---------------------------------------------------------------- the service role


def test_a_bucket_the_service_role_cannot_read_is_warned_about(s3, tmp_path):
    path = group_file(tmp_path, **{
        name: {"s3_uri": f"s3://weather-models/{name}.zip"}
        for name in ("standardiser", "rain_predictor", "rain_pipeline")
    })
    group = load_group(path)
    messages = bucket_warnings(group)
    assert len(messages) == 3
    assert messages[0].startswith(
        "ML resource 'standardiser': arn:aws:s3:::weather-models/standardiser.zip "
        "(s3://weather-models/standardiser.zip) is not readable under the default Greengrass "
        "service role policy: AWSGreengrassResourceAccessRolePolicy allows s3:GetObject only "
        "on arn:aws:s3:::*Greengrass*, arn:aws:s3:::*GreenGrass*, arn:aws:s3:::*greengrass*, "
        "arn:aws:s3:::*Sagemaker*, arn:aws:s3:::*SageMaker*, arn:aws:s3:::*sagemaker* "
        "(case-sensitive). Rename the bucket to contain 'greengrass' or 'sagemaker', or "
        "grant s3:GetObject on it")
    upload_artifacts(s3, group)
    with pytest.warns(ServiceRoleWarning) as caught:
        sources = s3_sources(group, s3, tmp_path / "downloads")
    assert [str(w.message) for w in caught] == messages
    assert sorted(sources) == ["rain_pipeline", "rain_predictor", "standardiser"]  # still


def test_the_shipped_bucket_draws_no_warning(group):
    assert bucket_warnings(group) == []


@pytest.mark.parametrize(("uri", "readable"), [
    ("s3://greengrass-weather-models/m.zip", True),
    ("s3://my-sagemaker-output/m.zip", True),
    ("s3://weather-models/m.zip", False),
    ("s3://weather-models/greengrass/m.zip", True),  # IAM matches the whole object ARN
    ("s3://weather-models/GREENGRASS.zip", False),  # wildcards are case-sensitive
    ("s3://weather-models/GreenGrass.zip", True),
    ("s3://weather-models/SAGEMAKER.zip", False),
])
def test_the_policy_patterns_are_matched_as_iam_does(tmp_path, uri, readable):
    group = load_group(group_file(tmp_path, standardiser={"s3_uri": uri}))
    resource = group.ml_resources[0]
    assert service_role_can_read(object_arn(resource)) is readable
    assert any("'standardiser'" in m for m in bucket_warnings(group)) is not readable


def test_the_policy_lists_six_spellings():
    assert {p.removeprefix("arn:aws:s3:::").strip("*") for p in SERVICE_ROLE_S3_OBJECTS} == {
        "Greengrass", "GreenGrass", "greengrass", "Sagemaker", "SageMaker", "sagemaker"}


def test_other_partitions_use_their_own_arns(group):
    resource = group.ml_resources[0]
    arn = object_arn(resource, "cn-north-1")
    assert arn == "arn:aws-cn:s3:::greengrass-weather-models/standardiser.zip"
    assert service_role_can_read(arn, "cn-north-1")
    assert not service_role_can_read(arn)  # an aws-cn ARN is not in the aws partition


# ---------------------------------------------------------------- uploading other sources


def test_a_folder_artifact_is_zipped_with_its_contents_at_the_root(s3, tmp_path):
    artifacts = tmp_path / "artifacts"
    (artifacts / "standardiser" / "variables").mkdir(parents=True)
    (artifacts / "standardiser" / "saved_model.pb").write_bytes(b"pb")
    (artifacts / "standardiser" / "variables" / "variables.index").write_bytes(b"ix")
    (artifacts / "rain_predictor.zip").write_bytes(zip_bytes({"saved_model.pb": b"p"}))
    (artifacts / "rain_pipeline.tflite").write_bytes(b"tfl")
    group = load_group(DEFAULT_GROUP)
    upload_artifacts(s3, group, artifacts)
    body = s3.get_object(Bucket=BUCKET, Key="standardiser.zip")["Body"].read()
    assert zipfile.ZipFile(io.BytesIO(body)).namelist() == [
        "saved_model.pb", "variables/variables.index"]
    body = s3.get_object(Bucket=BUCKET, Key="rain_pipeline.zip")["Body"].read()
    assert zipfile.ZipFile(io.BytesIO(body)).read("rain_pipeline.tflite") == b"tfl"


def test_an_artifact_that_is_not_there_is_named(s3, tmp_path):
    with pytest.raises(FileNotFoundError, match=(
        r"ML resource 'standardiser': nothing in .* to upload to "
        r"s3://greengrass-weather-models/standardiser\.zip"
    )):
        upload_artifacts(s3, load_group(DEFAULT_GROUP), tmp_path)


def test_buckets_outside_us_east_1_are_created_in_the_client_region(tmp_path):
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-2")
        upload_artifacts(client, load_group(DEFAULT_GROUP))
        location = client.get_bucket_location(Bucket=BUCKET)["LocationConstraint"]
    assert location == "eu-west-2"
