from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.nucleus_ipc.helpers import FakeCore


@pytest.fixture
def core() -> Iterator[FakeCore]:
    fake = FakeCore().start()
    try:
        yield fake
    finally:
        fake.stop()
