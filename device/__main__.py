"""Command line: ``python -m device``, the sensor program for the Raspberry Pi.

::

    python -m device --endpoint greengrass-ats.iot.us-east-1.amazonaws.com --thing bme680-sensor \\
        --cert device.pem.crt --key device.pem.key --root-ca AmazonRootCA1.pem \\
        [--period 5] [--count N] [--record trace.jsonl] [--i2c-bus 1] [--ca-dir DIR]
    python -m device --dry-run [--count 3]      # read the sensor, print the messages

Every option can also come from the environment (the command line wins):

==========================  ===================================================  ==========
variable                    meaning                                              default
==========================  ===================================================  ==========
``BME680_ENDPOINT``         Greengrass discovery endpoint (host name)            required
``BME680_DISCOVERY_PORT``   its port                                             8443
``BME680_THING``            this device's thing name (also the MQTT client id)   required
``BME680_CERT``             device certificate (PEM)                             required
``BME680_KEY``              device private key (PEM)                             required
``BME680_ROOT_CA``          Amazon root CA, to check the discovery endpoint      required
``BME680_CA_DIR``           where the group CA from discovery is written         see below
``BME680_PERIOD``           seconds between readings                             5
``BME680_COUNT``            readings to take, then exit                          forever
``BME680_RECORD``           trace file (``.csv`` or ``.jsonl``) to append to     none
``BME680_I2C_BUS``          I2C bus number (``/dev/i2c-N``)                      1
``BME680_DRY_RUN``          ``1``/``true``/``yes``: print instead of connecting  off
``BME680_LOG_LEVEL``        DEBUG, INFO, WARNING or ERROR                        INFO
==========================  ===================================================  ==========

The "required" ones are not needed with ``--dry-run``. The group CA directory defaults to
systemd's ``$STATE_DIRECTORY`` when the unit sets ``StateDirectory=``, else the current
directory. Exit status: 0 when done or stopped (Ctrl+C, SIGTERM), 1 when discovery or the
connection to the core fails, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from device.loop import Clock, Counters, RealClock, SensorFactory, run
from device.readings import TOPIC
from device.recorder import TraceFormatError, TraceWriter, trace_format

logger = logging.getLogger("device")

ENV_PREFIX = "BME680_"
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REQUIRED_TO_CONNECT = ("endpoint", "thing", "cert", "key", "root_ca")


@dataclass(frozen=True)
class Config:
    """The settings of one run, from the command line and the environment."""

    endpoint: str | None = None
    discovery_port: int = 8443
    thing: str | None = None
    cert: str | None = None
    key: str | None = None
    root_ca: str | None = None
    ca_dir: str = "."
    period: float = 5.0
    count: int | None = None
    record: str | None = None
    i2c_bus: int = 1
    dry_run: bool = False
    log_level: str = "INFO"


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{text!r} is not a positive number")
    return value


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise ValueError(f"{text!r} is less than {minimum}")
        return value

    return convert


def _port(text: str) -> int:
    value = _int_at_least(1)(text)
    if value > 65535:
        raise ValueError(f"{text!r} is not a port number")
    return value


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"{text!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{text!r} is not one of {', '.join(TRUE_WORDS + FALSE_WORDS[1:])}")


def _argparse_type(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def wrapped(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    wrapped.__name__ = convert.__name__.strip("_")
    return wrapped


# option name -> conversion of its text (the same for the command line and the environment)
_CONVERSIONS: dict[str, Callable[[str], Any]] = {
    "endpoint": str.strip,
    "discovery_port": _port,
    "thing": str.strip,
    "cert": str,
    "key": str,
    "root_ca": str,
    "ca_dir": str,
    "period": _positive_float,
    "count": _int_at_least(1),
    "record": str,
    "i2c_bus": _int_at_least(0),
    "dry_run": _boolean,
    "log_level": _log_level,
}


def env_name(option: str) -> str:
    """The environment variable of an option: ``root_ca`` -> ``BME680_ROOT_CA``."""
    return ENV_PREFIX + option.upper()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m device",
        description="Read the BME680 every PERIOD seconds and publish each reading on "
        f"{TOPIC} to the Greengrass core found by discovery. Every option can also be set "
        f"with an environment variable {ENV_PREFIX}<OPTION> (for example {env_name('root_ca')}).",
    )
    add = parser.add_argument

    def typed(name: str) -> Callable[[str], Any]:
        return _argparse_type(_CONVERSIONS[name])

    add("--endpoint", type=typed("endpoint"), help="Greengrass discovery endpoint host name")
    add("--discovery-port", type=typed("discovery_port"), help="discovery port (8443)")
    add("--thing", type=typed("thing"), help="this device's thing name (the MQTT client id)")
    add("--cert", help="device certificate, PEM")
    add("--key", help="device private key, PEM")
    add("--root-ca", help="Amazon root CA, PEM, to check the discovery endpoint")
    add("--ca-dir", help="where to write the group CA ($STATE_DIRECTORY or .)")
    add("--period", type=typed("period"), help="seconds between readings (5)")
    add("--count", type=typed("count"), help="take N readings, then exit (default: forever)")
    add("--record", help="append each reading to this trace file (.csv or .jsonl)")
    add("--i2c-bus", type=typed("i2c_bus"), help="I2C bus number, /dev/i2c-N (1)")
    add(
        "--dry-run",
        action="store_const",
        const=True,
        help="read the sensor and print the messages instead of connecting",
    )
    add("--log-level", type=typed("log_level"), help="DEBUG, INFO, WARNING or ERROR (INFO)")
    return parser


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """The run's settings: the command line, then ``BME680_*`` variables, then the defaults.

    A bad value or a missing setting ends with argparse's usage error (``SystemExit(2)``).
    """
    environ = os.environ if environ is None else environ
    parser = build_parser()
    namespace = parser.parse_args(argv)
    values: dict[str, Any] = {}
    for name, convert in _CONVERSIONS.items():
        value = getattr(namespace, name)
        if value is None and environ.get(env_name(name), "").strip():
            raw = environ[env_name(name)]
            try:
                value = convert(raw)
            except ValueError as error:
                parser.error(f"{env_name(name)}={raw!r}: {error}")
        if value is not None:
            values[name] = value
    if "ca_dir" not in values and environ.get("STATE_DIRECTORY"):
        # systemd may list several directories, separated by colons: use the first
        values["ca_dir"] = environ["STATE_DIRECTORY"].split(":")[0]
    config = Config(**values)
    if config.record is not None:
        try:
            trace_format(config.record)
        except TraceFormatError as error:
            parser.error(str(error))
    if not config.dry_run:
        missing = [name for name in REQUIRED_TO_CONNECT if not getattr(config, name)]
        if missing:
            parser.error(
                "missing "
                + ", ".join(f"--{name.replace('_', '-')} ({env_name(name)})" for name in missing)
                + " (not needed with --dry-run)"
            )
    return config


def connect_publisher(config: Config) -> Any:
    """Discovery, then MQTT to the first core that accepts: an object with publish and close."""
    from device.greengrass_connect import connect_to_core, discover, mqtt_connector

    endpoint, thing, cert, key, root_ca = (getattr(config, n) for n in REQUIRED_TO_CONNECT)
    if not (endpoint and thing and cert and key and root_ca):
        raise ValueError("endpoint, thing, certificate, key and root CA are all needed")
    logger.info("discovering the cores of %s at %s:%d", thing, endpoint, config.discovery_port)
    info = discover(endpoint, thing, cert, key, root_ca, port=config.discovery_port)
    connector = mqtt_connector(thing, cert, key)
    return connect_to_core(info, connector, config.ca_dir).client


def _printer(stdout: TextIO) -> Callable[[str, bytes], None]:
    def publish(topic: str, payload: bytes) -> None:
        print(topic, payload.decode("utf-8"), file=stdout, flush=True)

    return publish


def _default_sensor_factory(config: Config) -> SensorFactory:
    from device.sensor import open_sensor  # the bme680 library is only needed for real reads

    return functools.partial(open_sensor, bus_number=config.i2c_bus)


def main(
    argv: Sequence[str] | None = None,
    sensor_factory: SensorFactory | None = None,
    *,
    clock: Clock | None = None,
    stdout: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    connect: Callable[[Config], Any] = connect_publisher,
    counters: Counters | None = None,
    wall_time: Callable[[], float] | None = None,
) -> int:
    """Run the program; returns the exit status. The keyword arguments are for tests and
    harnesses (``wall_time``: the clock that stamps readings, ``time.time`` by default)."""
    config = parse_args(argv, environ)
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logger.setLevel(config.log_level)
    factory = sensor_factory or _default_sensor_factory(config)
    counters = counters if counters is not None else Counters()
    publisher: Any = None
    try:
        writer = TraceWriter(config.record) if config.record else None
    except OSError as error:
        logger.error("cannot open the trace file: %s", error)
        return 1
    try:
        if config.dry_run:
            publish = _printer(stdout or sys.stdout)
        else:
            try:
                publisher = connect(config)
            except Exception as error:
                logger.error("cannot reach the Greengrass core: %s", error)
                return 1
            publish = publisher.publish
        run(
            factory,
            publish,
            clock or RealClock(),
            period=config.period,
            count=config.count,
            recorder=writer.write if writer else None,
            counters=counters,
            wall_time=wall_time or time.time,
        )
    except KeyboardInterrupt:
        logger.info("stopped")
    finally:
        if writer is not None:
            writer.close()
        if publisher is not None:
            publisher.close()
        logger.info(
            "%d readings, %d published, %d failed reads, %d publish errors, %d re-opens",
            counters.cycles,
            counters.published,
            counters.failed_reads,
            counters.publish_errors,
            counters.reopened,
        )
    return 0


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # systemd's stop ends the loop like Ctrl+C: files closed, counts logged


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.exit(main())
