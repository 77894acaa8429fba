"""Scenario files (``scenarios/*.yaml``) and the rigs that run them.

    from harness.scenarios import load_scenario, run_scenario
    result = run_scenario("scenarios/steady_weather.yaml")   # on the ``sim`` rig
    assert result.passed, result.report()

:mod:`~harness.scenarios.schema` is the file format, :mod:`~harness.scenarios.loading` reads
and validates a file (errors name ``file:line``), :mod:`~harness.scenarios.runner` runs one on
the simulated core and :mod:`~harness.scenarios.expectations` judges what happened.
"""

from harness.scenarios.loading import ScenarioError, load_scenario
from harness.scenarios.runner import Outcome, ScenarioResult, run_scenario
from harness.scenarios.schema import Scenario

__all__ = ["Outcome", "Scenario", "ScenarioError", "ScenarioResult", "load_scenario",
           "run_scenario"]
