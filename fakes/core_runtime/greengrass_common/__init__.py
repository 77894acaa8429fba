"""Stand-in for ``greengrass_common``, a package that exists only on a Greengrass core.

This is a top-level package, not ``fakes.core_runtime.greengrass_common``: a core's Lambda runtime
puts its runtime folder on ``sys.path``, and the simulated core does the same with
``fakes/core_runtime`` (see :func:`fakes.core_modules.core_runtime_on_path`). Import it as
``import greengrass_common`` only while that folder is on the path.

Modules, with what the real ones provide that ``greengrasssdk`` and the Lambda runtime use:

* :mod:`greengrass_common.env_vars` -- the core-provided environment, read once at import.
* :mod:`greengrass_common.function_arn_fields` -- ``FunctionArnFields``, the Lambda ARN parser.
* :mod:`greengrass_common.local_cloudwatch_handler` -- ``LocalCloudwatchLogHandler``.
* :mod:`greengrass_common.common_log_appender` -- ``local_cloudwatch_handler``, the shared
  handler for the runtime's own log records.
"""
