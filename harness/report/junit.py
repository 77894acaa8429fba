"""JUnit XML for CI: one ``<testsuite>`` per scenario run, one ``<testcase>`` per
expectation (a failed one carries its first failing time and the value seen), and a failed
``<testcase>`` per Lambda failure the scenario did not expect (with the function's last log
lines)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harness.report.results import RunResult


def _failed(result: RunResult) -> int:
    return len(result.failures) + len(result.function_failures)


def junit_xml(results: Sequence[RunResult]) -> str:
    suites = ET.Element("testsuites", name="greengrass scenarios",
                        tests=str(sum(len(r.outcomes) + len(r.function_failures)
                                      for r in results)),
                        failures=str(sum(_failed(r) for r in results)))
    for result in results:
        suite = ET.SubElement(
            suites, "testsuite", name=f"{result.scenario} [{result.rig}]",
            tests=str(len(result.outcomes) + len(result.function_failures)),
            failures=str(_failed(result)), errors="0",
            skipped="0", time=f"{result.wall_seconds:.3f}")
        properties = ET.SubElement(suite, "properties")
        for name, value in (("rig", result.rig), ("seed", str(result.seed)),
                            ("duration_s", f"{result.duration:g}"),
                            ("file", result.file or "")):
            ET.SubElement(properties, "property", name=name, value=value)
        classname = f"scenarios.{Path(result.file).stem if result.file else result.scenario}"
        for outcome in result.outcomes:
            case = ET.SubElement(suite, "testcase", classname=classname,
                                 name=f"[{outcome.index}] {outcome.label}", time="0")
            if not outcome.met:
                message = (f"first failed at {outcome.failed_at:g} s (simulated), "
                           f"saw {outcome.value!r}" if outcome.failed_at is not None
                           else f"failed, saw {outcome.value!r}")
                failure = ET.SubElement(case, "failure", message=message,
                                        type="ExpectationFailed")
                said = f"\n{outcome.sentence}" if outcome.sentence else ""
                failure.text = f"{outcome.label}{said}\n{message}"
        for lambda_failure in result.function_failures:
            case = ET.SubElement(suite, "testcase", classname=classname, time="0",
                                 name=f"Lambda {lambda_failure.function} "
                                      f"{lambda_failure.kind} at {lambda_failure.time:g} s")
            failure = ET.SubElement(case, "failure", message=lambda_failure.message,
                                    type="LambdaFailed")
            failure.text = lambda_failure.describe()
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def write_junit(results: Sequence[RunResult], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(results), encoding="utf-8")
    return path
