"""``local_cloudwatch_handler``: the one handler shared by the core's Python runtime modules.

Records land in the local log group ``/GreengrassSystem/python_runtime`` formatted as
``[LEVEL]-file.py:line,message`` (see :mod:`greengrass_common.local_cloudwatch_handler`).
"""

from __future__ import annotations

import logging

from greengrass_common.local_cloudwatch_handler import LocalCloudwatchLogHandler

LOCAL_CLOUDWATCH_FORMAT = "[%(levelname)s]-%(filename)s:%(lineno)d,%(message)s"

local_cloudwatch_handler = LocalCloudwatchLogHandler("GreengrassSystem", "python_runtime")
local_cloudwatch_handler.setFormatter(logging.Formatter(LOCAL_CLOUDWATCH_FORMAT))
