"""``python -m harness deploy``: the dry run's output, --out files, help and errors."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness.cli import main

from .conftest import GROUP_FILE

ROOT = GROUP_FILE.parents[1]


def test_dry_run_is_the_default_and_prints_the_v2_plan(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert main(["deploy"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Greengrass V2 deployment of group 'weather-station' in us-east-1:")
    assert "  3. greengrassv2.create_component_version: weather-station.republish 1.0.0" in out
    assert " 10. greengrassv2.batch_associate_client_device_with_core_device: associate 2" \
           " client devices with weather-station-core" in out
    assert " 11. greengrassv2.create_deployment: deploy 11 components to" \
           " arn:aws:iot:us-east-1:123456789012:thing/weather-station-core" in out
    assert "clientDeviceTrustDurationMinutes 1440" in out  # from lambdas/group.yaml
    assert "Every request is valid for botocore" in out
    assert "Dry run: nothing was sent." in out


def test_v1_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--target", "v1"]) == 0
    out = capsys.readouterr().out
    assert "Greengrass V1 deployment" in out
    assert "greengrass.create_group_version" in out
    assert "AWS ended Greengrass V1 support on 2026-10-07" in out


def test_help_says_v2_is_the_default_and_v1_support_ended(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["deploy", "--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "v2 (default) or v1 (AWS ended V1 support on 2026-10-07)" in out
    assert "--apply" in out and "--out DIR" in out


def test_out_writes_each_request_and_the_packages(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--out", str(tmp_path)]) == 0
    files = sorted(p.name for p in tmp_path.glob("*.json"))
    assert files[0] == "01-ml-resources.json"
    assert files[-2] == "10-associate-client-devices.json"
    assert files[-1] == "11-deployment.json"
    request = json.loads((tmp_path / "03-component-republish.json").read_text())
    assert request["service"] == "greengrassv2"
    assert request["operation"] == "create_component_version"
    parameters = request["params"]["lambdaFunction"]["componentLambdaParameters"]
    assert parameters["timeoutInSeconds"] == 25
    deployment = json.loads((tmp_path / "11-deployment.json").read_text())["params"]
    assert deployment["components"]["aws.greengrass.Nucleus"] == {
        "componentVersion": "${core-device.coreVersion}"}
    packages = sorted(p.name for p in (tmp_path / "packages").iterdir())
    assert packages == ["hello_world.zip", "inference.zip", "republish.zip"]
    with zipfile.ZipFile(tmp_path / "packages" / "inference.zip") as zf:
        assert "inference.py" in zf.namelist()
        assert "shadow_client.py" in zf.namelist()
    assert f"Wrote 11 requests and 3 packages to {tmp_path}." in capsys.readouterr().out


def test_region_moves_every_arn(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--region", "eu-west-2"]) == 0
    out = capsys.readouterr().out
    assert "in eu-west-2:" in out
    assert "arn:aws:lambda:eu-west-2:123456789012:function:republish:1" in out
    assert "us-east-1" not in out


def test_component_versions_can_be_pinned(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--component-version", "aws.greengrass.ShadowManager=2.3.9",
                 "--nucleus-version", "2.14.3"]) == 0
    out = capsys.readouterr().out
    assert "aws.greengrass.ShadowManager 2.3.9" in out
    assert "aws.greengrass.Nucleus 2.14.3" in out
    assert "get_core_device" not in out


def test_problems_are_reported_without_a_traceback(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--component-version", "aws.greengrass.Bogus=1.0.0"]) == 2
    assert "no public component aws.greengrass.Bogus" in capsys.readouterr().err
    broken = tmp_path / "group.yaml"
    broken.write_text("name: x\ncore: {thing: c}\nfunctions: [{name: f}]\n")
    assert main(["deploy", "--group", str(broken)]) == 2
    assert "functions.0.module: required field is missing" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["deploy", "--component-version", "no-equals-sign"])


def test_the_module_entry_point_runs_the_dry_run() -> None:
    done = subprocess.run([sys.executable, "-m", "harness", "deploy"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Dry run: nothing was sent." in done.stdout


def test_a_bad_region_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--region", "Mars"]) == 2
    assert "--region 'Mars' is not an AWS region" in capsys.readouterr().err


def test_a_missing_lambda_module_is_reported(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["deploy", "--out", str(out), "--code-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "group.yaml:" in err and "functions.0.module: no republish.py in" in err
    assert not out.exists()  # refused before anything was built
