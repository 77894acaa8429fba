"""Tests of the record, replay and compare commands of python -m harness."""
