"""Devices in a simulation: the real device program reading the real bme680 library on a
simulated BME680, publishing into the simulated core, all on virtual time.

The device program's loop (:func:`device.loop.run`) runs unchanged as a task: its clock's
``sleep`` and the library's own ``time.sleep`` polls take virtual time, and what it publishes
goes through the core's subscription table as a message from ``device:<thing>``. What the
chip measures comes from an environment function of the elapsed seconds (a weather profile,
or a recorded trace), applied whenever the device runs. Each program started gets a boot id
drawn from the simulation's seed (the thing and how many programs it has run before), and
stamps its readings with the simulation's epoch clock, so runs repeat exactly.
"""

from __future__ import annotations

import bisect
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from device.loop import Counters
from device.loop import run as run_device_loop
from device.recorder import TraceRecord
from device.sensor import open_sensor
from fakes.bme680 import SimulatedBME680
from harness.tasks import Task

if TYPE_CHECKING:
    from harness.simulation import Simulation

#: The air the sensor sees, as a function of seconds since the simulation started:
#: ``{"temperature": C, "pressure": hPa, "humidity": %RH, "gas_resistance": ohm}`` (any subset).
EnvironmentSource = Callable[[float], Mapping[str, float]]

#: How many messages the device program's MQTT client holds while disconnected
#: (``max_queued`` of :func:`device.greengrass_connect.mqtt_connector`).
MAX_HELD = 100
#: seconds between the device program's attempts when the core refuses its connection
RECONNECT_DELAY = 5.0


def replay(records: Iterable[TraceRecord]) -> EnvironmentSource:
    """An environment that replays a trace recorded on the Pi (``python -m device --record``):
    at each moment the chip sees what the trace's latest record at that offset from its first
    record measured. Failed records (no values) keep the air as it was."""
    points = [(r.time, r) for r in records
              if None not in (r.temperature, r.pressure, r.humidity)]
    if not points:
        raise ValueError("the trace has no successful reading to replay")
    start = points[0][0]
    times = [t - start for t, _ in points]

    def environment(elapsed: float) -> Mapping[str, float]:
        record = points[max(0, bisect.bisect_right(times, elapsed) - 1)][1]
        values = {"temperature": record.temperature, "pressure": record.pressure,
                  "humidity": record.humidity}
        if record.gas_resistance is not None:
            values["gas_resistance"] = record.gas_resistance
        return values  # type: ignore[return-value]

    return environment


class _VirtualClock:
    """The device loop's clock (``now`` and ``sleep``) on the simulation's time."""

    def __init__(self, simulation: Simulation) -> None:
        self._clock = simulation.clock

    def now(self) -> float:
        return self._clock.elapsed

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)  # virtual inside a task


class SimulatedDevice:
    """One device program on a simulated chip. ``counters`` tells what its loop did."""

    def __init__(
        self,
        simulation: Simulation,
        thing: str,
        *,
        chip: SimulatedBME680 | None = None,
        environment: EnvironmentSource | None = None,
        period: float = 5.0,
        count: int | None = None,
        recorder: Callable[[Any], None] | None = None,
    ) -> None:
        simulation.group.device(thing)  # a clear error for a thing the group lacks
        self.simulation = simulation
        self.thing = thing
        self.log_name = f"device:{thing}"
        self.chip = chip or SimulatedBME680(clock=lambda: simulation.clock.elapsed)
        self.environment = environment
        self.counters = Counters()
        #: messages held while the broker connection is down (paho keeps QoS 1 messages
        #: up to its queue limit and sends them once it has reconnected)
        self.held: list[tuple[str, bytes]] = []
        self.held_dropped = 0
        self._offline_until: float | None = None
        self._applied_at: float | None = None
        self._logger = logging.getLogger(f"device.{thing}")
        started = sum(1 for device in simulation.devices if device.thing == thing)
        #: this run's boot id: the same for the same seed, another for each restart
        draw = random.Random(f"{simulation.seed}/{thing}/{started}")
        self.boot_id = f"{draw.getrandbits(128):032x}"

        def main() -> None:
            run_device_loop(
                lambda: open_sensor(bus=self.chip),
                self._publish,
                _VirtualClock(simulation),
                period=period,
                count=count,
                recorder=recorder,
                log=self._logger,
                wall_time=simulation.clock.time,
                counters=self.counters,
                boot_id=self.boot_id,
            )

        self.task = Task(simulation.scheduler, self.log_name, main, on_enter=self._refresh)
        self.task.owner = self
        if not self._connect():
            self._offline_until = simulation.clock.elapsed
            simulation.scheduler.call_later(RECONNECT_DELAY, self._reconnect)
        self.task.start()

    def _connect(self) -> bool:
        """Connect to the core's broker with the thing name as client id: on a V2 core
        client device auth decides (a refusal is logged and retried); True when admitted."""
        fabric = self.simulation.core.fabric
        if fabric is None:
            return True
        from harness.v2.fabric import ConnectRefused

        try:
            fabric.connect(self.thing)
        except ConnectRefused as refused:
            self.simulation.core.logs.write(
                self.log_name, "WARNING", f"connection to the core's broker refused: {refused}"
                f"; retrying in {RECONNECT_DELAY:g} s")
            return False
        return True

    def _publish(self, topic: str, payload: bytes) -> None:
        if self.offline:
            if len(self.held) < MAX_HELD:
                self.held.append((topic, payload))
            else:
                self.held_dropped += 1
            raise ConnectionError("not connected to the core's broker (the message is kept "
                                  "for sending after the reconnection)")
        self.simulation.core.route(self.log_name, topic, payload)

    @property
    def offline(self) -> bool:
        """Whether the device's broker connection is down."""
        return self._offline_until is not None

    def disconnect(self, duration: float) -> None:
        """Lose the broker connection for ``duration`` seconds, then reconnect and send what
        was held, in order (what the device program's paho client does)."""
        until = self.simulation.clock.elapsed + duration
        self._offline_until = max(until, self._offline_until or until)
        self.simulation.core.logs.write(self.log_name, "WARNING",
                                        "disconnected from the core's broker")
        self.simulation.scheduler.call_later(duration, self._reconnect)

    def _reconnect(self) -> None:
        until = self._offline_until
        if until is None or self.simulation.clock.elapsed < until:
            return  # already back, or a later disconnect extended the outage
        core = self.simulation.core
        if not core.running:  # the broker is the core: try again in a second
            self.simulation.scheduler.call_later(1.0, self._reconnect)
            return
        if not self._connect():
            self.simulation.scheduler.call_later(RECONNECT_DELAY, self._reconnect)
            return
        self._offline_until = None
        self.simulation.core.logs.write(
            self.log_name, "INFO",
            f"reconnected to the core's broker; sending {len(self.held)} held message(s)")
        held, self.held = self.held, []
        for topic, payload in held:
            core.route(self.log_name, topic, payload)

    def _refresh(self) -> None:
        """Bring the chip's air up to date before the device runs."""
        now = self.simulation.clock.elapsed
        if self.environment is not None and now != self._applied_at:
            self._applied_at = now
            self.chip.set_environment(**self.environment(now))

    def stop(self) -> None:
        from harness.tasks import TaskExit

        self.task.throw(TaskExit())
