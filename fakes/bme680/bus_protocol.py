"""What smbus2, ctypes and the Linux i2c-dev layer do with a call's arguments.

The simulated chip applies the same conversions and raises the same exceptions, in the same
order, as ``smbus2.SMBus`` (0.6.1) on a real ``/dev/i2c-1``:

* ``smbus2`` itself refuses block lengths over 32 (ValueError) before anything else;
* it selects the address with the ``I2C_SLAVE`` ioctl: ``fcntl`` wants a C int (TypeError for
  non-integers, OverflowError beyond 32 bits; a str/bytes is passed as a buffer pointer) and
  the kernel answers EINVAL for anything outside 0x00..0x7F; on a closed bus the file
  descriptor is None and ``fcntl`` raises TypeError;
* register, byte values and block lengths go through ctypes ``c_uint8`` fields, which take any
  integer and keep its low 8 bits (256 -> 0, -1 -> 255) and raise TypeError otherwise;
* block data is slice-assigned into a ctypes byte array (same conversions, and its errors);
* the kernel refuses an I2C block transfer longer than 32 with EINVAL, and a transfer nobody
  acknowledges fails with EREMOTEIO (121, "Remote I/O error") on the Pi's controller.
"""

from __future__ import annotations

import ctypes
import errno
import operator
import os
from collections.abc import Sequence
from typing import Any

I2C_SMBUS_BLOCK_MAX = 32
_INT_MAX = 2**31 - 1
_BUFFER_TYPES = (str, bytes, bytearray, memoryview)


def os_error(code: int) -> OSError:
    """The OSError the kernel's errno turns into, e.g. ``OSError(121, 'Remote I/O error')``."""
    return OSError(code, os.strerror(code))


def remote_io_error() -> OSError:
    return os_error(errno.EREMOTEIO)


def closed_bus_error() -> TypeError:
    return TypeError("argument must be an int, or have a fileno() method.")


def check_address(address: Any) -> int:
    """The 7-bit address the I2C_SLAVE ioctl accepts, or the exception it raises."""
    if isinstance(address, _BUFFER_TYPES):
        raise os_error(errno.EINVAL)  # the kernel sees a pointer, far above 0x7F
    value = operator.index(address)
    if value > _INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if value < -_INT_MAX - 1:
        raise OverflowError("signed integer is less than minimum")
    if not 0 <= value <= 0x7F:
        raise os_error(errno.EINVAL)
    return value


def as_byte(value: Any) -> int:
    """What a ctypes ``c_uint8`` field stores for ``value``."""
    if type(value) is int:
        return value & 0xFF
    return operator.index(value) & 0xFF


def check_read_length(length: Any) -> None:
    """smbus2's own check, done before the bus is touched."""
    if length > I2C_SMBUS_BLOCK_MAX:
        raise ValueError(f"Desired block length over {I2C_SMBUS_BLOCK_MAX} bytes")


def kernel_read_count(length: Any) -> int:
    """Bytes the kernel will read for a block read of ``length`` (after ctypes conversion)."""
    count = as_byte(length)
    if count > I2C_SMBUS_BLOCK_MAX:
        raise os_error(errno.EINVAL)
    return count


def block_read_result(data: Sequence[int], length: int) -> list[int]:
    """smbus2 returns ``block[1:length + 1]`` of the 34-byte ctypes buffer the kernel filled."""
    block = [0] * (I2C_SMBUS_BLOCK_MAX + 2)
    block[0] = len(data)
    block[1 : len(data) + 1] = data
    return block[1 : length + 1]


def check_write_length(data: Any) -> int:
    length = len(data)
    if length > I2C_SMBUS_BLOCK_MAX:
        raise ValueError(f"Data length cannot exceed {I2C_SMBUS_BLOCK_MAX} bytes")
    return length


def block_write_bytes(data: Any, length: int) -> list[int]:
    """The bytes that reach the kernel, converted exactly as smbus2's ctypes buffer does."""
    buffer = (ctypes.c_uint8 * (I2C_SMBUS_BLOCK_MAX + 2))()
    buffer[0] = length
    buffer[1 : length + 1] = data
    return list(buffer[1 : length + 1])
