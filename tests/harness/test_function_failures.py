"""Loud Lambda failures: the simulated core records each, a test or scenario fails on them.

Four kinds, each caused by a tiny Lambda in its own group: a module that fails to import, a
handler that raises, a handler that runs past its timeout, and a greengrasssdk local shadow
call a V2 core refuses. A Lambda that handles a bad input itself is not a failure.
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from harness.commands.run import failure_lines
from harness.report.junit import junit_xml
from harness.report.results import RunResult, record_run
from harness.rigs.sim import SimRig
from harness.simulation import Simulation
from tests.harness.sim_helpers import write_group

LAMBDAS = {
    "import_error": """
        raise RuntimeError("ALERT_LEVEL is not set")
        def function_handler(event, context):
            pass
    """,
    "handler_error": """
        import logging
        def function_handler(event, context):
            logging.info("checking %s", event)
            raise ValueError("humidity must be a number")
    """,
    "timeout": """
        import logging, time
        def function_handler(event, context):
            logging.info("waiting for the valve")
            time.sleep(10)
    """,
    "refused": """
        import json, logging
        import greengrasssdk
        client = greengrasssdk.client("iot-data")
        def function_handler(event, context):
            try:
                client.update_thing_shadow(thingName="hygrometer", payload=json.dumps({}))
            except Exception as error:
                logging.error("shadow update failed: %s", error)
    """,
    "handles_bad_input": """
        import logging
        def function_handler(event, context):
            if not isinstance(event.get("humidity"), (int, float)):
                logging.error("ignoring a bad reading: %s", event)
    """,
}

EXPECTED = {
    "import_error": "RuntimeError: ALERT_LEVEL is not set",
    "handler_error": "ValueError: humidity must be a number",
    "timeout": "Task timed out after 3.00 seconds",
    "refused": "used greengrasssdk's local shadow",
}


def _group(folder: Path, kind: str) -> Path:
    group = {"functions": [{"name": "alert", "module": "alert", "timeout": 3}],
             "devices": [{"thing": "hygrometer"}],
             "subscriptions": [{"source": "device:hygrometer", "subject": "humidity",
                                "target": "function:alert"}]}
    return write_group(folder, group, {"alert": LAMBDAS[kind]})


def _run(path: Path) -> Simulation:
    sim = Simulation.from_group(path)  # V2, legacy shadow calls refused as on a V2 core
    sim.publish("hygrometer", "humidity", {"humidity": "high"})
    sim.run(5)
    return sim


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_the_core_records_each_kind_with_the_last_log_lines(tmp_path: Path, kind: str
                                                            ) -> None:
    with _run(_group(tmp_path, kind)) as sim:
        (failure, *rest) = sim.function_failures
    assert (failure.function, failure.kind) == ("alert", kind)
    assert EXPECTED[kind] in failure.message
    assert failure.time == pytest.approx(3.0 if kind == "timeout" else 0.0)
    assert rest == []  # the refusing Lambda catches the error itself: one failure
    if kind == "refused":  # the reason is the core's, in the message
        assert "must use the AWS IoT Device SDK V2 shadow IPC" in failure.describe()
    else:
        assert EXPECTED[kind] in "\n".join(failure.log_tail)
        assert EXPECTED[kind] in failure.describe()
    assert failure.describe().startswith(f"alert {failure.summary().split(' ', 1)[1]}")


def test_a_lambda_that_handles_a_bad_input_has_not_failed(tmp_path: Path) -> None:
    with _run(_group(tmp_path, "handles_bad_input")) as sim:
        assert sim.function_failures == ()
        assert any("ignoring a bad reading" in line for line in sim.logs("alert"))


def test_expect_failures_catches_what_it_names_and_asserts_it_happened(tmp_path: Path
                                                                       ) -> None:
    with Simulation.from_group(_group(tmp_path, "handler_error")) as sim:
        with sim.expect_failures("alert", kind="handler_error") as caught:
            sim.publish("hygrometer", "humidity", {"humidity": "high"})
            sim.run(1)
        assert [f.kind for f in caught] == ["handler_error"]
        assert sim.unexpected_failures == ()
        missing = r"expected a failure of alert \(timeout\) in this block; none happened"
        with pytest.raises(AssertionError, match=missing), \
                sim.expect_failures("alert", kind="timeout"):
            sim.publish("hygrometer", "humidity", {"humidity": "high"})
            sim.run(1)
        assert [f.kind for f in sim.unexpected_failures] == ["handler_error"]
        with pytest.raises(ValueError, match="did you mean 'timeout'"), \
                sim.expect_failures(kind="timout"):
            pass


# -- pytest: a test fails on a failure it did not expect -----------------------------------


def _project(pytester: pytest.Pytester, kind: str) -> None:
    _group(pytester.path, kind)
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n")


TEST_BODY = """
    import pytest

    def test_plain(simulation):
        simulation.publish("hygrometer", "humidity", {"humidity": "high"})
        simulation.run(5)

    @pytest.mark.gg_allow_failures("alert", kind=["timeout", "handler_error", "import_error",
                                                  "refused"])
    def test_marked(simulation):
        simulation.publish("hygrometer", "humidity", {"humidity": "high"})
        simulation.run(5)

    def test_failing_anyway(simulation):
        simulation.publish("hygrometer", "humidity", {"humidity": "high"})
        simulation.run(5)
        assert False, "the test's own assertion"
"""


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_a_test_fails_with_the_function_kind_and_log_lines(pytester: pytest.Pytester,
                                                           kind: str) -> None:
    _project(pytester, kind)
    pytester.makepyfile(test_alert=textwrap.dedent(TEST_BODY))
    result = pytester.runpytest_subprocess("-n", "0", "-rA")
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    plain = out[out.index("_ test_plain _"):out.index("_ test_failing_anyway _")]
    assert "alert" in plain and f"({kind})" in plain and EXPECTED[kind] in plain
    assert "last log lines of alert:" in plain or kind == "refused"
    assert "gg_allow_failures" in plain  # says how to opt out
    assert "Traceback" not in plain.split("1 Lambda failure")[0]  # the failure, not pytest's
    anyway = out[out.index("_ test_failing_anyway _"):]
    assert "the test's own assertion" in anyway
    assert "Lambda failures" in anyway and EXPECTED[kind] in anyway  # a report section


def test_a_marker_naming_a_function_the_group_lacks_says_so(pytester: pytest.Pytester
                                                            ) -> None:
    _project(pytester, "handler_error")
    pytester.makepyfile(test_alert="""
        import pytest

        @pytest.mark.gg_allow_failures("alret")
        def test_typo(simulation):
            simulation.publish("hygrometer", "humidity", {"humidity": "high"})
            simulation.run(1)
    """)
    result = pytester.runpytest_subprocess("-n", "0")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no function 'alret' in the group (did you mean 'alert'?)*"])


# -- scenarios ---------------------------------------------------------------------------


def _scenario(folder: Path, **extra: object) -> Path:
    document = {"name": "humid", "duration": 10, "seed": 0,
                "stimuli": [{"at": 1, "publish": {"source": "hygrometer", "topic": "humidity",
                                                  "payload": {"humidity": "high"}}}],
                "expectations": [{"stats": {"function": "alert", "field": "received",
                                            "equals": 1}}], **extra}
    path = folder / "humid.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_a_scenario_fails_on_a_lambda_failure_with_its_log_lines(tmp_path: Path) -> None:
    group = _group(tmp_path, "handler_error")
    result = record_run(_scenario(tmp_path), rig=SimRig(group))
    assert not result.passed and result.failures == []  # every expectation met
    (failure,) = result.function_failures
    assert (failure.function, failure.kind) == ("alert", "handler_error")
    lines = failure_lines(result)
    assert lines[0] == ("lambda: humid: alert handler_error 1x, first at 1 s: "
                        "ValueError: humidity must be a number")
    assert any("humidity must be a number" in line for line in lines[1:])
    again = RunResult.from_dict(json.loads(result.to_json()))
    assert again.function_failures == result.function_failures
    suite = ET.fromstring(junit_xml([result]).split("\n", 1)[1]).find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    (case,) = [c for c in suite.iter("testcase") if c.get("name", "").startswith("Lambda")]
    assert case.get("name") == "Lambda alert handler_error at 1 s"
    assert "humidity must be a number" in (case.find("failure").text or "")


def test_allow_failures_lets_a_scenario_expect_them(tmp_path: Path) -> None:
    group = _group(tmp_path, "handler_error")
    path = _scenario(tmp_path, allow_failures=[{"function": "alert",
                                                "kind": "handler_error"}])
    assert record_run(path, rig=SimRig(group)).passed
    other = _scenario(tmp_path, allow_failures=[{"kind": "timeout"}])
    assert not record_run(other, rig=SimRig(group)).passed


def test_a_stall_the_scenario_injects_may_time_out(tmp_path: Path) -> None:
    group = _group(tmp_path, "handles_bad_input")
    stalled = _scenario(tmp_path, faults=[{"at": 0, "lambda_timeout": {"function": "alert"}}])
    result = record_run(stalled, rig=SimRig(group))
    assert result.passed and result.function_failures == []
    assert result.delivery["alert: timeouts"] == 1


def test_the_pytest_item_of_a_failing_scenario_shows_the_log_lines(
        pytester: pytest.Pytester) -> None:
    _project(pytester, "handler_error")
    (pytester.path / "scenarios").mkdir()
    _scenario(pytester.path / "scenarios")
    result = pytester.runpytest_subprocess("-n", "0")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*1 Lambda failure(s)*",
                                 "alert raised an unhandled exception (handler_error) at 1 s:*",
                                 "*last log lines of alert:*",
                                 "*ValueError: humidity must be a number*",
                                 "*list it under allow_failures*"])
