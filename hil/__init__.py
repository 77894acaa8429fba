"""The hardware suite: run with ``pytest -m hil`` on the Raspberry Pi."""
