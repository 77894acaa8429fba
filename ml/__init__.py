"""Rain model: data, baselines, training and export of the Greengrass ML resources."""
