"""The harness: simulated Greengrass core, virtual clock, scenarios, rigs, CLI and pytest plugin."""
