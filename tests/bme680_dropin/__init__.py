"""Contract and behaviour tests of the drop-in ``bme680`` (fakes/bme680_dropin)."""

import pytest

# the comparison helpers assert too: let pytest explain their failures
pytest.register_assert_rewrite("tests.bme680_dropin.sides")
