"""smbus2 compatibility: argument checks and conversions match smbus2/ctypes/the kernel.

Where smbus2 raises before touching the device (block lengths, a closed bus) the real
``smbus2.SMBus`` is called side by side; byte conversions are compared with smbus2's own
ctypes message structures.
"""

from __future__ import annotations

import errno

import pytest
import smbus2
from smbus2.smbus2 import i2c_smbus_ioctl_data

from fakes.bme680 import SimulatedBME680, patched_smbus

ADDR = 0x76


def raised(call: object, *args: object) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as info:
        call(*args)  # type: ignore[operator]
    return info.type, str(info.value)


def ctypes_byte(value: object) -> int:
    msg = i2c_smbus_ioctl_data.create()
    msg.data.contents.byte = value
    return msg.data.contents.byte


def test_block_read_over_32_is_refused_like_smbus2(chip: SimulatedBME680) -> None:
    real = smbus2.SMBus()  # not opened: smbus2 checks the length before using the bus
    assert raised(chip.read_i2c_block_data, ADDR, 0x1D, 33) == raised(
        real.read_i2c_block_data, ADDR, 0x1D, 33
    )
    assert raised(chip.read_i2c_block_data, ADDR, 0x1D, 33)[0] is ValueError
    assert len(chip.read_i2c_block_data(ADDR, 0x00, 32)) == 32
    assert chip.transactions == 1  # the refused call never reached the bus


def test_block_write_over_32_is_refused_like_smbus2(chip: SimulatedBME680) -> None:
    real = smbus2.SMBus()
    data = [0] * 33
    assert raised(chip.write_i2c_block_data, ADDR, 0x72, data) == raised(
        real.write_i2c_block_data, ADDR, 0x72, data
    )
    assert raised(chip.write_i2c_block_data, ADDR, 0x72, 5)[0] is TypeError  # no len()


def test_closed_bus_raises_like_smbus2(chip: SimulatedBME680) -> None:
    real = smbus2.SMBus()  # fd is None, as after close()
    chip.close()
    for method, args in [
        ("read_byte_data", (ADDR, 0xD0)),
        ("write_byte_data", (ADDR, 0x72, 1)),
        ("read_i2c_block_data", (ADDR, 0x89, 25)),
        ("write_i2c_block_data", (ADDR, 0x72, [1])),
    ]:
        assert raised(getattr(chip, method), *args) == raised(getattr(real, method), *args)
    chip.open(1)
    assert chip.read_byte_data(ADDR, 0xD0) == 0x61


def test_context_manager_closes(chip: SimulatedBME680) -> None:
    with chip as bus:
        assert bus.read_byte_data(ADDR, 0xD0) == 0x61
    with pytest.raises(TypeError):
        chip.read_byte_data(ADDR, 0xD0)


@pytest.mark.parametrize("value", [0, 255, 256, -1, 2**70 + 5, True])
def test_out_of_range_values_wrap_like_ctypes(chip: SimulatedBME680, value: int) -> None:
    chip.write_byte_data(ADDR, 0x5A, value)
    assert chip.read_byte_data(ADDR, 0x5A) == ctypes_byte(value)
    chip.write_byte_data(ADDR, 0x5A - 256, 0x11)  # the register wraps the same way
    assert chip.read_byte_data(ADDR, 0x5A + 512) == 0x11


@pytest.mark.parametrize("bad", [1.0, "7", None])
def test_non_integer_values_raise_the_ctypes_type_error(chip: SimulatedBME680, bad: object) -> None:
    with pytest.raises(TypeError) as ours:
        chip.write_byte_data(ADDR, 0x5A, bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError) as theirs:
        ctypes_byte(bad)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="cannot be interpreted as an integer"):
        chip.read_byte_data(ADDR, bad)  # type: ignore[arg-type]
    assert chip.transactions == 0


def test_block_write_data_converted_like_ctypes(chip: SimulatedBME680) -> None:
    chip.write_i2c_block_data(ADDR, 0x5A, [256 + 7, 0x5B, -1])
    assert chip.read_i2c_block_data(ADDR, 0x5A, 2) == [7, 255]
    with pytest.raises(TypeError, match="'float' object cannot be interpreted"):
        chip.write_i2c_block_data(ADDR, 0x5A, [1.5])
    with pytest.raises(TypeError, match="does not support indexing"):
        chip.write_i2c_block_data(ADDR, 0x5A, {1, 2})


def test_block_read_lengths_as_the_kernel_sees_them(chip: SimulatedBME680) -> None:
    assert chip.read_i2c_block_data(ADDR, 0xD0, 0) == []
    with pytest.raises(OSError) as info:  # -1 becomes 255 in the ctypes byte: kernel EINVAL
        chip.read_i2c_block_data(ADDR, 0xD0, -1)
    assert info.value.errno == errno.EINVAL
    with pytest.raises(TypeError):
        chip.read_i2c_block_data(ADDR, 0xD0, 2.0)  # type: ignore[arg-type]


def test_block_read_auto_increments_and_wraps(chip: SimulatedBME680) -> None:
    block = chip.read_i2c_block_data(ADDR, 0xF0, 17)
    assert block[0] == 0x00 and block[16] == chip.read_byte_data(ADDR, 0x00)


@pytest.mark.parametrize("address", [0x80, -1, 0x3FF, "0x76", b"v"])
def test_invalid_addresses_get_einval(chip: SimulatedBME680, address: object) -> None:
    with pytest.raises(OSError) as info:
        chip.read_byte_data(address, 0xD0)  # type: ignore[arg-type]
    assert info.value.errno == errno.EINVAL


def test_address_type_and_overflow_errors_like_fcntl(chip: SimulatedBME680) -> None:
    with pytest.raises(TypeError, match="'float' object cannot be interpreted as an integer"):
        chip.read_byte_data(118.0, 0xD0)  # type: ignore[arg-type]
    with pytest.raises(OverflowError, match="signed integer is greater than maximum"):
        chip.read_byte_data(2**31, 0xD0)


def test_nobody_at_another_address_is_remote_io_error(chip: SimulatedBME680) -> None:
    with pytest.raises(OSError) as info:
        chip.read_byte_data(0x77, 0xD0)
    assert (info.value.errno, info.value.strerror) == (121, "Remote I/O error")
    assert str(info.value) == "[Errno 121] Remote I/O error"
    assert chip.transactions == 0  # not a transaction with this chip


def test_force_keyword_accepted(chip: SimulatedBME680) -> None:
    assert chip.read_byte_data(ADDR, 0xD0, force=True) == 0x61
    chip.write_byte_data(ADDR, 0x72, 1, force=False)
    assert chip.read_i2c_block_data(ADDR, 0x72, 1, force=None) == [1]
    chip.write_i2c_block_data(ADDR, 0x72, [2], force=True)
    assert chip.read_byte_data(ADDR, 0x72) == 2


def test_patched_smbus_returns_the_chip_only_for_its_bus(chip: SimulatedBME680) -> None:
    original = smbus2.SMBus
    with patched_smbus(chip) as installed:
        assert installed is chip
        assert smbus2.SMBus(1) is chip
        assert smbus2.SMBus("/dev/i2c-1") is chip
        with pytest.raises(FileNotFoundError):
            smbus2.SMBus(97)  # any other bus is the real smbus2 (no /dev/i2c-97 here)
        with smbus2.SMBus(1) as bus:  # the close at the end of a with-block...
            assert bus.read_byte_data(ADDR, 0xD0) == 0x61
        assert smbus2.SMBus(1).read_byte_data(ADDR, 0xD0) == 0x61  # ...is undone by reopening
    assert smbus2.SMBus is original


def test_transactions_are_recorded(chip: SimulatedBME680) -> None:
    chip.write_byte_data(ADDR, 0x72, 2)
    chip.read_i2c_block_data(ADDR, 0x72, 3)
    assert [(t.kind, t.register, t.data) for t in chip.log or []] == [
        ("write", 0x72, (2,)),
        ("read_block", 0x72, (2, 0, 0)),
    ]
