# Message kinds, their ordered field tuples, and signing / checking.
#
# The wire format and the checks are in protocol/wire.py (all the device
# imports); this module is the full API the host uses: those names, plus
# helpers only the host needs. See protocol/README.md.
from protocol.wire import *  # noqa: F401,F403
from protocol.wire import (  # noqa: F401
    _NAMES,
    _TYPES,
    ACK,
    IDLE,
    RATING,
    SESSION,
    STATUS,
    _check_bytes,
    _check_shape,
    _check_values,
)

KINDS = (RATING, ACK, SESSION, IDLE, STATUS)

# Ack results.
STORED = "stored"
DUPLICATE = "duplicate"

LEVEL_MIN = 1

# 差评 reason codes: the five dimensions of 004 第七条 and 其他 (the device's
# reason screen, firmware/display.py; 6 came with firmware 0.2.0).
REASON_ATTITUDE = 1  # 态度
REASON_EFFICIENCY = 2  # 效率
REASON_QUALITY = 3  # 质量
REASON_ENVIRONMENT = 4  # 环境
REASON_OTHER = 5  # 其他，扫码填写
REASON_CONVENIENCE = 6  # 便捷性


# A status's `reset`: machine.reset_cause() (the ESP32 port's codes), or 6
# when the firmware reset itself after an error (firmware/main.py).
RESET_CAUSES = {1: "power", 2: "hard", 3: "watchdog", 4: "deepsleep", 5: "soft", 6: "crash"}


def spec(kind):
    """[(name, type code), ...] of a kind's fields, in wire order."""
    return list(zip(_NAMES[kind].split(), _TYPES[kind]))


def field_names(kind):
    return _NAMES[kind].split()


def as_dict(fields):
    """Fields of a decoded message by name (convenient on the host)."""
    names = field_names(fields[1])
    return dict(zip(names, fields))
