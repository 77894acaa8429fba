"""The real edge code: the Lambdas deployed to the Greengrass core, unmodified in simulation."""
