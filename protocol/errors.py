# Typed rejections. Each class carries the `reason` under which hostd counts it.


class ProtocolError(ValueError):
    reason = "malformed"


class Malformed(ProtocolError):
    reason = "malformed"


class Oversized(ProtocolError):
    reason = "oversized"


class UnsupportedVersion(ProtocolError):
    reason = "unsupported_version"


class BadSignature(ProtocolError):
    reason = "bad_signature"


class WrongDevice(ProtocolError):
    reason = "wrong_device"


class Replayed(ProtocolError):
    reason = "replayed"


class LevelOutOfRange(ProtocolError):
    reason = "level_out_of_range"


REASONS = (
    Malformed.reason,
    Oversized.reason,
    UnsupportedVersion.reason,
    BadSignature.reason,
    WrongDevice.reason,
    Replayed.reason,
    LevelOutOfRange.reason,
)
