"""``FunctionArnFields``: split a Lambda function ARN into region, account, name and qualifier.

Behaviour kept from the core's parser (GGC 1.9 and later), quirks included, because
``greengrasssdk``'s ``Lambda.Client.invoke`` builds the ARN it posts from these fields:

* Partitions ``aws`` and ``aws-<suffix>`` are accepted; the region must look like ``xx-yyy-N``;
  the account is any run of letters and digits (even empty); the name and qualifier are letters,
  digits, ``-`` and ``_`` (or ``$LATEST``).
* The ARN is matched from its start only: trailing text after a valid prefix is not rejected.
  ``unqualified_arn`` is then the string with ``':' + qualifier`` cut off its end by length.
* A missing qualifier is ``None``. A string that does not start like an ARN raises
  ``ValueError('Cannot parse given string as a function ARN.')``.
"""

from __future__ import annotations

import re
import warnings

_ARN_START = re.compile(
    r"arn:aws(?:-[a-z]+)*:lambda:"
    r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)"
    r":(?P<account>[0-9a-zA-Z]*)"
    r":function:(?P<name>[a-zA-Z0-9_-]+)"
    r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?"
)


class FunctionArnFields:
    """The fields of a Lambda function ARN (the qualifier is optional)."""

    region: str
    account_id: str
    name: str
    qualifier: str | None
    unqualified_arn: str

    def __init__(self, function_arn_string: str) -> None:
        self.parse_function_arn(function_arn_string)

    def parse_function_arn(self, function_arn_string: str) -> None:
        """Fill in the fields from ``function_arn_string``."""
        found = _ARN_START.match(function_arn_string)
        if found is None:
            raise ValueError("Cannot parse given string as a function ARN.")
        self.region = found["region"]
        self.account_id = found["account"]
        self.name = found["name"]
        self.qualifier = found["qualifier"]
        if self.qualifier:
            cut = len(self.qualifier) + 1
            self.unqualified_arn = function_arn_string[: len(function_arn_string) - cut]
        else:
            self.unqualified_arn = function_arn_string

    def to_arn_string(self) -> str:
        """The ARN again, with the qualifier when there is one."""
        return FunctionArnFields.build_function_arn(self.unqualified_arn, self.qualifier)

    @staticmethod
    def build_function_arn(unqualified_arn: str, qualifier: str | None) -> str:
        """``unqualified_arn`` with ``:qualifier`` appended when the qualifier is not empty."""
        return f"{unqualified_arn}:{qualifier}" if qualifier else unqualified_arn

    @staticmethod
    def build_arn_string(region: str, account_id: str, name: str, qualifier: str | None) -> str:
        """Deprecated since GGC 1.9 (use ``build_function_arn``); always the ``aws`` partition."""
        warnings.warn(
            "Call to deprecated function build_arn_string.", DeprecationWarning, stacklevel=2
        )
        base = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
        return FunctionArnFields.build_function_arn(base, qualifier)
