"""Rejections of the Shadow service, with AWS's documented codes and messages.

Texts are from the AWS IoT developer guide's "Device Shadow error messages" page, with the
live-observed details from ``shared/specs/shadow.md`` section 1.8 (``'<node>'`` and
``'<name>'`` quoted).
"""

from __future__ import annotations

INVALID_JSON = "Invalid JSON"
MISSING_STATE = "Missing required node: state"
STATE_NOT_OBJECT = "State node must be an object"
DESIRED_NOT_OBJECT = "Desired node must be an object"
REPORTED_NOT_OBJECT = "Reported node must be an object"
INVALID_VERSION = "Invalid version"
INVALID_CLIENT_TOKEN = "Invalid clientToken"
VERSION_CONFLICT = "Version conflict"
PAYLOAD_TOO_LARGE = "The payload exceeds the maximum size allowed"
UNSUPPORTED_ENCODING = "Unsupported documented encoding; supported encoding is UTF-8"


def name_too_long(field: str, limit: int) -> str:
    """[unverified] ShadowManager's text; the cloud's is not documented."""
    return f"{field} has a maximum length of {limit}"


def name_pattern(field: str, pattern: str) -> str:
    """[unverified] ShadowManager's text; the cloud's is not documented."""
    return f"{field} must match pattern {pattern}"


def too_deep(max_depth: int) -> str:
    return f"JSON contains too many levels of nesting; maximum is {max_depth}"


def invalid_node(node: str) -> str:
    return f"State contains an invalid node: '{node}'"


def no_shadow(name: str) -> str:
    return f"No shadow exists with name: '{name}'"


#: HTTP status -> the error code boto3 reports for the iot-data REST API.
REST_ERROR_CODES: dict[int, str] = {
    400: "InvalidRequestException",
    401: "UnauthorizedException",
    404: "ResourceNotFoundException",
    405: "MethodNotAllowedException",
    409: "ConflictException",
    413: "RequestEntityTooLargeException",
    415: "UnsupportedDocumentEncodingException",
    429: "ThrottlingException",
    500: "InternalFailureException",
    503: "ServiceUnavailableException",
}


class ShadowRejection(Exception):
    """A request the Shadow service refuses: ``code`` is the HTTP status, ``message`` AWS's text."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message

    @property
    def rest_error_code(self) -> str:
        """The boto3 error code the REST API gives for this rejection."""
        return REST_ERROR_CODES[self.code]
