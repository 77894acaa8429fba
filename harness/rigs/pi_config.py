"""The pi rig's configuration: where the real Greengrass core is and who the tests are on it.

The pi rig runs the scenarios on a Raspberry Pi with the real Greengrass core and the physical
BME680. Everything that differs from one Pi to the next lives in one YAML file, by default
``hil/pi.yaml`` (not committed; ``hil/pi.example.yaml`` is the commented template), or the file
named by the environment variable ``HIL_PI_CONFIG`` or the pytest option ``--pi-config``.

    config = load_pi_config()                 # --pi-config / HIL_PI_CONFIG / hil/pi.yaml
    config.core.host, config.client.cert      # paths are absolute: relative ones are taken
                                              # from the config file's folder

:func:`load_pi_config` validates the file the way the group and scenario files are validated:
unknown keys are errors, YAML numbers are not text, and every problem is reported as
``<file>:<line>: <field.path>: <what is wrong>`` in one :class:`PiConfigError`. A missing file
raises :class:`PiConfigNotFound` saying where it looked and how to make one.
"""

from __future__ import annotations

import os
import shlex
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from harness.group import (
    FunctionName,
    Loc,
    ThingName,
    _describe,
    _dotted,
    _raise_problems,
    _rule_error,
)
from harness.limits import MAX_API_INT, MAX_TIMING_FACTOR
from harness.yaml_files import FileProblems, Problem, read_yaml_mapping
from harness.yaml_files import yaml_kind as _yaml_kind

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "DEFAULT_DEPLOYED_GLOB",
    "EXAMPLE_CONFIG",
    "ClientIdentity",
    "CoreEndpoint",
    "Discovery",
    "PiConfig",
    "PiConfigError",
    "PiConfigNotFound",
    "SensorLocation",
    "load_pi_config",
    "locate_pi_config",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "hil" / "pi.yaml"
"""Where the pi rig's config is when neither the option nor the environment names one."""
EXAMPLE_CONFIG = REPO_ROOT / "hil" / "pi.example.yaml"
"""The commented template to copy to :data:`DEFAULT_CONFIG`."""
CONFIG_ENV = "HIL_PI_CONFIG"
"""The environment variable naming the config file (the pytest option ``--pi-config`` wins)."""
PYTEST_OPTION = "--pi-config"

DEFAULT_DEPLOYED_GLOB = "packages/artifacts-unarchived/{component}/{version}/**/{module}.py"
"""Where a deployed Lambda's code is looked for, under ``greengrass_root``, when ``lambdas``
does not name the file (the ``deployed_glob`` setting's default). The nucleus unpacks a
component's archive artifacts under ``<greengrass_root>/packages/artifacts-unarchived/
<component>/<version>/`` [nucleus code: ``ComponentStore``], a ZIP into a folder named after
it; that a Lambda component's code is such an archive, and where the module sits in it, is
[unverified] (it depends on how the function was zipped, hence the ``**``). ``{component}`` is
the function's V2 component (``<group>.<function>``), ``{version}`` the component version its
Lambda version compiles to (``<version>.0.0``), ``{module}`` the handler's module."""
_GLOB_FIELDS = frozenset({"component", "version", "module"})

_BME680_ADDRESSES = (0x76, 0x77)
_PATH_MAX = 4096  # Linux's PATH_MAX, in bytes


class PiConfigError(FileProblems):
    """A pi rig config file that cannot be used; ``problems`` lists what is wrong, by line."""


class PiConfigNotFound(FileNotFoundError):
    """No pi rig config file where one was looked for; the message says how to make one."""


# ---------------------------------------------------------------- field types


def _path(value: Any, info: ValidationInfo) -> Any:
    """A path from the file: ``~`` expanded, relative paths taken from the file's folder."""
    if isinstance(value, str):
        if not value.strip():
            raise _rule_error("must not be empty: give a file path")
        if "\x00" in value:
            raise _rule_error("a path cannot hold the NUL character")
        if len(value.encode("utf-8", errors="surrogatepass")) > _PATH_MAX:
            raise _rule_error(f"is longer than a path can be ({_PATH_MAX} bytes)")
        value = Path(value)
    if isinstance(value, Path):
        value = value.expanduser()
        base = (info.context or {}).get("base")
        if base is not None and not value.is_absolute():
            value = Path(base) / value
        return value
    raise _rule_error(f"must be a path (text), not {_yaml_kind(value)}")


ConfigPath = Annotated[Path, BeforeValidator(_path)]
"""A file path; in a config file, relative to the file's folder."""


def _host(what: str, example: str) -> Any:
    def check(value: str) -> str:
        if not value.strip() or value != value.strip():
            raise _rule_error(f"{value!r} is not a host name: give e.g. {example}")
        if "://" in value or "/" in value:
            raise _rule_error(f"{value!r}: give the {what} alone, without scheme or path"
                              f" (e.g. {example})")
        if value.count(":") == 1:
            raise _rule_error(f"{value!r}: give the port in the 'port' field, not in the host")
        return value

    return Annotated[str, AfterValidator(check)]


Port = Annotated[int, Field(ge=1, le=65535)]


def _command(value: str) -> str:
    if not value.strip():
        raise _rule_error("must not be empty: give the command, or null when the rig may not"
                          " restart the core")
    try:
        shlex.split(value)
    except ValueError as problem:  # what restart_argv would meet when a scenario restarts
        raise _rule_error(f"cannot be split into arguments as a shell would: {problem}"
                          ) from None
    return value


def _cli_command(value: str) -> str:
    if not value.strip():
        raise _rule_error("must not be empty: give how to run the Greengrass CLI, e.g."
                          " sudo -n /greengrass/v2/bin/greengrass-cli")
    try:
        shlex.split(value)
    except ValueError as problem:
        raise _rule_error(f"cannot be split into arguments as a shell would: {problem}"
                          ) from None
    return value


def _deployed_glob(value: str) -> str:
    if not value.strip():
        raise _rule_error("must not be empty: give a glob under greengrass_root, e.g."
                          f" {DEFAULT_DEPLOYED_GLOB}")
    if value.startswith(("/", "~")):
        raise _rule_error(f"{value!r} is taken from greengrass_root: give it without the"
                          " leading / or ~")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(value)
                  if name is not None}
    except ValueError as problem:
        raise _rule_error(f"{value!r} is not a template: {problem} (write {{{{ and }}}} for"
                          " literal braces)") from None
    unknown = sorted(fields - _GLOB_FIELDS)
    if unknown:
        raise _rule_error(f"{value!r} names {', '.join('{' + f + '}' for f in unknown)}: only"
                          " {component}, {version} and {module} are filled in")
    if "module" not in fields:
        raise _rule_error(f"{value!r} does not name the file: it must hold {{module}}, as in"
                          f" {DEFAULT_DEPLOYED_GLOB}")
    return value


def _bme680_address(value: int) -> int:
    if value not in _BME680_ADDRESSES:
        raise _rule_error(
            f"{value:#04x} is not a BME680 address: 0x76 (SDO to GND) or 0x77 (SDO to VDDIO)"
        )
    return value


# ---------------------------------------------------------------- models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class CoreEndpoint(_Model):
    """A known Greengrass core: its broker's address and the group CA that signed its server
    certificate (on V2, the CA of the client device auth component)."""

    host: _host("core's address", "192.168.1.20 or gg-core.local")  # type: ignore[valid-type]
    port: Port = 8883
    ca: ConfigPath


class Discovery(_Model):
    """Find the core the way devices do: ask the Greengrass discovery service (HTTPS with the
    client certificate) for the core's addresses and its group CA."""

    endpoint: _host(  # type: ignore[valid-type]
        "discovery endpoint", "greengrass-ats.iot.us-east-1.amazonaws.com"
    )
    port: Port = 8443
    root_ca: ConfigPath
    """The CA that signed the discovery endpoint's certificate (Amazon Root CA 1)."""


class ClientIdentity(_Model):
    """The thing the tests connect to the core as (the MQTT client id is the thing name):
    its certificate and private key, PEM files."""

    thing: ThingName = "weather-station"
    cert: ConfigPath
    key: ConfigPath


class SensorLocation(_Model):
    """Where the BME680 is: the I2C bus number (``/dev/i2c-<bus>``) and the chip's address."""

    bus: Annotated[int, Field(ge=0, le=MAX_API_INT)] = 1
    address: Annotated[int, AfterValidator(_bme680_address)] = 0x76

    @property
    def device(self) -> str:
        """The bus's device file, e.g. ``/dev/i2c-1``."""
        return f"/dev/i2c-{self.bus}"


class PiConfig(_Model):
    """The pi rig's config file. Exactly one of ``core`` and ``discovery`` says how to reach
    the core; the rest has defaults that fit a Raspberry Pi set up as the README says."""

    core: CoreEndpoint | None = None
    """The core's broker at a known address (MQTT over TLS, port 8883)."""
    discovery: Discovery | None = None
    """Or: the Greengrass discovery service that knows where the core is."""
    client: ClientIdentity
    """The thing identity the tests connect as."""
    devices: dict[ThingName, ClientIdentity] = Field(default_factory=dict)
    """Other things' identities the suite may publish as (for example ``bme680-sensor``, to
    inject readings on its topic); tests that need one that is missing are skipped."""
    shadow_thing: ThingName = "weather-station"
    """The thing whose local Shadow the scenarios read and write ($aws/things/<thing>/shadow)."""
    sensor: SensorLocation = SensorLocation()
    """Where the physical BME680 is."""
    greengrass_root: ConfigPath = Path("/greengrass/v2")
    """The core's root folder (the installer's ``--root``)."""
    lambdas: dict[FunctionName, ConfigPath | None] = Field(default_factory=dict)
    """Per function of lambdas/group.yaml, the deployed file holding its module on the Pi.
    A function not listed (or listed as null) is looked for with ``deployed_glob`` under
    ``greengrass_root``."""
    deployed_glob: Annotated[str, AfterValidator(_deployed_glob)] = DEFAULT_DEPLOYED_GLOB
    """Where a deployed Lambda's module is looked for under ``greengrass_root``
    (:data:`DEFAULT_DEPLOYED_GLOB`; ``{component}``, ``{version}``, ``{module}`` filled in)."""
    greengrass_cli: Annotated[str, AfterValidator(_cli_command)] | None = None
    """How the preflight runs the Greengrass CLI (``component list`` is appended; run without
    a shell). None: ``sudo -n <greengrass_root>/bin/greengrass-cli``. From a laptop, prefix
    ssh: ``ssh pi@gg-core.local sudo -n /greengrass/v2/bin/greengrass-cli``."""
    mqtt_protocol: Literal["mqtt3", "mqtt5"] = "mqtt3"
    """The MQTT version of the rig's clients: ``mqtt3`` (3.1.1) for the core's Moquette broker,
    which speaks nothing else; ``mqtt5`` for an EMQX broker."""
    restart_command: Annotated[str, AfterValidator(_command)] | None = (
        "sudo systemctl restart greengrass"
    )
    """How a scenario restarts the core (run without a shell), or null when the rig may not
    restart it; scenarios that restart the core are then skipped."""
    timing_factor: Annotated[float, Field(ge=1.0, le=MAX_TIMING_FACTOR)] = 3.0
    """How much longer than in simulation a "within N s" deadline may take on hardware
    (1 to 100)."""
    lock_file: ConfigPath = Path("/tmp/gg-harness-pi.lock")
    """The file whose lock one test session holds while it uses this Pi."""

    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_way_to_the_core(self) -> PiConfig:
        if self.core is None and self.discovery is None:
            message = ("say how to reach the core: either core (host, port, ca) or discovery"
                       " (endpoint, port, root_ca)")
            _raise_problems("PiConfig", [((), message)])
        if self.core is not None and self.discovery is not None:
            message = ("core and discovery are both given: keep one (core: the core's known"
                       " address; discovery: ask the discovery service for it)")
            _raise_problems("PiConfig", [(("discovery",), message)])
        return self

    @property
    def source(self) -> Path | None:
        """The file this config was read from (None when built in Python)."""
        return self._source

    @property
    def greengrass_cli_argv(self) -> list[str]:
        """:attr:`greengrass_cli` split into arguments, or its default."""
        if self.greengrass_cli is None:
            return ["sudo", "-n", str(self.greengrass_root / "bin" / "greengrass-cli")]
        return shlex.split(self.greengrass_cli)

    @property
    def restart_argv(self) -> list[str] | None:
        """:attr:`restart_command` split into arguments as a POSIX shell would, or None."""
        return None if self.restart_command is None else shlex.split(self.restart_command)

    def files(self) -> dict[str, Path]:
        """The certificate, key and CA files the rig needs, by their field path."""
        found = {"client.cert": self.client.cert, "client.key": self.client.key}
        for thing, identity in self.devices.items():
            found[f"devices.{thing}.cert"] = identity.cert
            found[f"devices.{thing}.key"] = identity.key
        if self.core is not None:
            found["core.ca"] = self.core.ca
        if self.discovery is not None:
            found["discovery.root_ca"] = self.discovery.root_ca
        return found


# ---------------------------------------------------------------- loading


def locate_pi_config(
    option: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Path, str]:
    """Which config file to use, and why: the pytest option's value when given, else
    ``$HIL_PI_CONFIG``, else ``hil/pi.yaml`` in the repository."""
    environ = os.environ if environ is None else environ
    if option is not None and str(option):
        return Path(option), PYTEST_OPTION
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]), CONFIG_ENV
    return DEFAULT_CONFIG, "the default"


def load_pi_config(path: str | Path | None = None, *, origin: str | None = None) -> PiConfig:
    """Read and validate the pi rig's config file.

    :param path: the file; None looks where :func:`locate_pi_config` says.
    :param origin: where ``path`` came from (e.g. ``"--pi-config"``), for the not-found message.
    :raises PiConfigNotFound: no file there.
    :raises PiConfigError: every problem in the file, each as ``file:line: field: problem``.
    """
    if path is None:
        path, origin = locate_pi_config()
    path = Path(path)
    if not path.is_file():
        raise PiConfigNotFound(_not_found_message(path, origin))
    data, index, problems = read_yaml_mapping(path, "pi config", PiConfigError)
    base = path.resolve().parent
    try:
        config = PiConfig.model_validate(data, context={"base": base})
    except ValidationError as error:
        for detail in error.errors():
            loc = _clean(detail["loc"])
            problems.append(
                Problem(str(path), index.line(loc), _dotted(loc, "(pi config)"),
                        _describe(detail, loc, PiConfig))
            )
        raise PiConfigError(problems) from None
    if problems:
        raise PiConfigError(problems)
    config._source = path
    return config


def _not_found_message(path: Path, origin: str | None) -> str:
    where = f" (from {origin})" if origin else ""
    if origin == "the default":
        where = f" (the default: neither {PYTEST_OPTION} nor {CONFIG_ENV} names a file)"
    how = (
        f"copy {_shown(EXAMPLE_CONFIG)} to {_shown(DEFAULT_CONFIG)} and fill in how to reach"
        f" the core and the client's certificate and key, or point {PYTEST_OPTION} or"
        f" {CONFIG_ENV} at your file"
    )
    return f"no pi rig config at {path.absolute()}{where}: {how}"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _clean(loc: Loc) -> Loc:
    """Drop the parts pydantic adds for validators (``function-before[...]``), not YAML keys."""
    return tuple(
        part for part in loc if not (isinstance(part, str) and part.startswith("function-"))
    )
