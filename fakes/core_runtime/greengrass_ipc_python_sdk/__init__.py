"""Stand-in for ``greengrass_ipc_python_sdk``, the core-only client of the daemon's IPC API.

This is a top-level package, not ``fakes.core_runtime.greengrass_ipc_python_sdk``: a core's
Lambda runtime puts its runtime folder on ``sys.path``, and the simulated core does the same with
``fakes/core_runtime`` (see :func:`fakes.core_modules.core_runtime_on_path`). Import it as
``import greengrass_ipc_python_sdk`` only while that folder is on the path.

:mod:`greengrass_ipc_python_sdk.ipc_client` has ``IPCClient``, ``IPCException``, ``WorkItem``
and ``GetWorkResultOutput``. Where the real client sends HTTP requests to the daemon, this one
hands them to the in-process backend installed with :mod:`fakes.ipc_backend`.
"""
