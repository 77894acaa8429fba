"""What the I2C layer under the real library does with its arguments, without a bus.

The real library hands addresses, registers and values to ``smbus2`` unchecked; smbus2's
ctypes fields and the kernel then decide. The drop-in applies the same conversions so odd
arguments fail (or wrap) the same way: a value goes into a byte by keeping its low 8 bits
(-1 -> 255, 300 -> 44) and non-integers raise TypeError; an address must be an int in
0x00..0x7F (EINVAL otherwise; a str is passed as a pointer and also gets EINVAL).
"""

from __future__ import annotations

import errno
import operator
import os
from typing import Any

_C_INT_MAX = 2**31 - 1


def os_error(code: int) -> OSError:
    """The OSError an errno becomes, e.g. ``OSError(121, 'Remote I/O error')``."""
    return OSError(code, os.strerror(code))


def remote_io_error() -> OSError:
    return os_error(errno.EREMOTEIO)


def check_address(address: Any) -> int:
    """The address as the I2C_SLAVE ioctl takes it, or the exception it raises."""
    if isinstance(address, str | bytes | bytearray | memoryview):
        raise os_error(errno.EINVAL)
    number = operator.index(address)
    if number > _C_INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if number < -_C_INT_MAX - 1:
        raise OverflowError("signed integer is less than minimum")
    if not 0 <= number <= 0x7F:
        raise os_error(errno.EINVAL)
    return number


def to_byte(value: Any) -> int:
    """What a C ``uint8_t`` field keeps of ``value``."""
    return operator.index(value) & 0xFF
