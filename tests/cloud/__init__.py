"""Tests of the simulated cloud side: Shadow sync and ML resources from S3."""
