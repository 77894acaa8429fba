"""Our ``greengrass_common`` modules and the way they are put on ``sys.path``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from fakes.core_modules import core_runtime_on_path, core_runtime_path, forget_core_modules

# --- making the modules importable --------------------------------------------------------


def test_core_runtime_is_a_folder_of_top_level_packages() -> None:
    path = core_runtime_path()
    assert not (path / "__init__.py").exists()
    assert (path / "greengrass_common" / "__init__.py").is_file()
    assert (path / "greengrass_ipc_python_sdk" / "__init__.py").is_file()


def test_on_path_only_inside_the_block() -> None:
    before = list(sys.path)
    with core_runtime_on_path() as path:
        assert sys.path[0] == str(path)
        import greengrass_common.env_vars
        import greengrass_ipc_python_sdk.ipc_client

        for module in (greengrass_common.env_vars, greengrass_ipc_python_sdk.ipc_client):
            assert path in Path(module.__file__).parents
    assert sys.path == before


def test_forget_core_modules(on_core: Path) -> None:
    import greengrass_common.env_vars  # noqa: F401

    removed = forget_core_modules()

    assert {"greengrass_common", "greengrass_common.env_vars"} <= set(removed)
    assert "greengrass_common" not in sys.modules


def test_refuses_when_other_copies_are_already_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "greengrass_common").mkdir()
    (tmp_path / "greengrass_common" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    import greengrass_common  # noqa: F401

    with (
        pytest.raises(RuntimeError, match="already imported from elsewhere"),
        core_runtime_on_path(),
    ):
        pass


# --- env_vars -----------------------------------------------------------------------------


def test_env_vars_unset_are_none(on_core: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MY_FUNCTION_ARN", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "GG_DAEMON_PORT"):
        monkeypatch.delenv(name, raising=False)
    from greengrass_common import env_vars

    assert env_vars.MY_FUNCTION_ARN is None
    assert env_vars.AUTH_TOKEN is None
    assert env_vars.GG_DAEMON_PORT is None


def test_env_vars_are_read(on_core: Path, lambda_env: dict[str, str]) -> None:
    from greengrass_common import env_vars

    assert lambda_env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == env_vars.AUTH_TOKEN
    for name in (
        "MY_FUNCTION_ARN",
        "SHADOW_FUNCTION_ARN",
        "ROUTER_FUNCTION_ARN",
        "SECRETS_MANAGER_FUNCTION_ARN",
        "GG_DAEMON_PORT",
    ):
        assert getattr(env_vars, name) == lambda_env[name]


# --- FunctionArnFields --------------------------------------------------------------------

BASE = "arn:aws:lambda:us-east-1:123456789012:function:sensor"


@pytest.mark.parametrize(
    ("arn", "fields"),
    [
        (f"{BASE}:3", ("us-east-1", "123456789012", "sensor", "3", BASE)),
        (BASE, ("us-east-1", "123456789012", "sensor", None, BASE)),
        (f"{BASE}:$LATEST", ("us-east-1", "123456789012", "sensor", "$LATEST", BASE)),
        (f"{BASE}:prod_alias-1", ("us-east-1", "123456789012", "sensor", "prod_alias-1", BASE)),
        (
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:f:1",
            (
                "cn-north-1",
                "123456789012",
                "f",
                "1",
                "arn:aws-cn:lambda:cn-north-1:123456789012:function:f",
            ),
        ),
        (
            "arn:aws-us-gov:lambda:us-gov-west-1::function:f",
            ("us-gov-west-1", "", "f", None, "arn:aws-us-gov:lambda:us-gov-west-1::function:f"),
        ),
    ],
)
def test_function_arn_fields(on_core: Path, arn: str, fields: tuple) -> None:
    from greengrass_common.function_arn_fields import FunctionArnFields

    parsed = FunctionArnFields(arn)

    assert (
        parsed.region,
        parsed.account_id,
        parsed.name,
        parsed.qualifier,
        parsed.unqualified_arn,
    ) == fields
    assert parsed.to_arn_string() == arn


@pytest.mark.parametrize(
    "text",
    [
        "sensor",
        "arn:aws:lambda:::function:GGShadowService",
        "arn:aws:lambda:useast1:123456789012:function:f",
        "arn:aws:iot:us-east-1:123456789012:thing/t",
        "arn:aws:lambda:us-east-1:123456789012:function:.name",
        " arn:aws:lambda:us-east-1:123456789012:function:f",
    ],
)
def test_not_a_function_arn(on_core: Path, text: str) -> None:
    from greengrass_common.function_arn_fields import FunctionArnFields

    with pytest.raises(ValueError, match=r"^Cannot parse given string as a function ARN\.$"):
        FunctionArnFields(text)


def test_only_the_start_of_the_arn_is_checked(on_core: Path) -> None:
    from greengrass_common.function_arn_fields import FunctionArnFields

    parsed = FunctionArnFields(f"{BASE}:3/extra")  # the core's parser lets this through

    assert (parsed.name, parsed.qualifier) == ("sensor", "3")
    assert parsed.unqualified_arn == f"{BASE}:3/ext"  # ':3' cut off the end, by length
    assert FunctionArnFields(f"{BASE}.v2").name == "sensor"


def test_build_function_arn(on_core: Path) -> None:
    from greengrass_common.function_arn_fields import FunctionArnFields

    assert FunctionArnFields.build_function_arn(BASE, "7") == f"{BASE}:7"
    assert FunctionArnFields.build_function_arn(BASE, "") == BASE
    assert FunctionArnFields.build_function_arn(BASE, None) == BASE


def test_build_arn_string_is_deprecated(on_core: Path) -> None:
    from greengrass_common.function_arn_fields import FunctionArnFields

    with pytest.warns(DeprecationWarning, match="build_arn_string"):
        built = FunctionArnFields.build_arn_string("eu-west-1", "123456789012", "f", "2")
    assert built == "arn:aws:lambda:eu-west-1:123456789012:function:f:2"


# --- local CloudWatch handler -------------------------------------------------------------


def test_local_cloudwatch_handler(on_core: Path) -> None:
    from greengrass_common.common_log_appender import local_cloudwatch_handler as handler

    handler.clear()
    logger = logging.getLogger("test_gg_core_common.runtime")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("disk %s", "low")
        logger.critical("gone")
        logger.error("plain")
        handler.write("printed")
        handler.write("\n")
    finally:
        logger.removeHandler(handler)

    assert handler.log_group_name == "/GreengrassSystem/python_runtime"
    messages = [event["message"] for event in handler.delivered()]
    assert messages[0].startswith("[WARN]-test_gg_core_common.py:")
    assert messages[0].endswith(",disk low")
    assert messages[1].startswith("[FATAL]-")
    assert messages[2].startswith("[ERROR]-")
    assert messages[3].startswith("[DEBUG]-test_gg_core_common.py:")
    assert messages[3].endswith(",printed")
    assert len(messages) == 4
    assert all(isinstance(event["timestamp"], int) for event in handler.delivered())
