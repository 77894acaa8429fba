"""This repository's own pytest configuration.

The harness's plugin (``harness.pytest_plugin``, loaded through its ``pytest11`` entry point)
brings the markers (``hil``, ``scenario``, ``gg_allow_failures``), the options and the
fixtures, and leaves ``hil`` items out of a plain run; what is here is only this
repository's: pytester for the plugin's own tests, and the Hypothesis profiles.
"""

from __future__ import annotations

import os

from hypothesis import settings

pytest_plugins = ["pytester"]

# Hypothesis: in CI (CI=true) examples are derived from the test, not drawn at random, so a
# run is reproducible; locally every run explores new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")
