"""paho-mqtt's MQTT v5 Properties, made cheap to create. Same behaviour.

paho builds a `Properties` object for every packet it decodes (each
incoming PUBLISH, and each PUBACK the broker sends for the collector's acks)
and its __init__ rebuilds the same three tables of names and types every
time; `unpack` then walks them through `clear()`. In the collector's network
thread that was a fifth of its time, about 80 us per rating.

`install()` points paho's packet decoder at `SharedTables`, a subclass of
paho's Properties that shares one copy of those (constant, never written)
tables and clears by a precomputed list of attribute names. Everything else
-- validation in __setattr__, pack, unpack, str, json -- is paho's own code.
It checks first that paho looks as expected (pinned in requirements.txt);
if not, it changes nothing and hostd runs at paho's own speed.
tests/test_paho_speedups.py holds the two classes side by side.
"""

import logging

log = logging.getLogger("hostd.collector")

_installed = []


def _tables():
    # lazy: paho's internals, imported where a paho that differs is handled
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    sample = Properties(PacketTypes.PUBLISH)
    compressed = tuple(name.replace(" ", "") for name in sample.names)
    # clear() below looks in the instance only: paho's hasattr() also sees
    # class attributes and __getattr__; make sure neither exists.
    if "__getattr__" in vars(Properties) or any(hasattr(Properties, n) for n in compressed):
        return None
    return Properties, sample.types, sample.names, sample.properties, compressed


def _make_class():
    tables = _tables()
    if tables is None:
        return None
    base, types, names, properties, compressed = tables

    class SharedTables(base):
        """paho's Properties with its constant tables shared, not rebuilt."""

        def __init__(self, packetType):
            set_ = object.__setattr__
            set_(self, "packetType", packetType)
            set_(self, "types", types)
            set_(self, "names", names)
            set_(self, "properties", properties)

        def clear(self):
            present = self.__dict__
            for name in compressed:
                if name in present:
                    delattr(self, name)

    return SharedTables


def install():
    """Use SharedTables in paho's packet decoder (for the whole process; the
    collector calls this). Returns the class in use, or None when paho is not
    the version this expects."""
    if not _installed:
        try:
            # lazy: paho's internals, imported where a paho that differs is handled
            from paho.mqtt import _packet
            from paho.mqtt.properties import Properties

            stock = _packet.Properties is Properties  # pyright: ignore[reportPrivateImportUsage]
            cls = _make_class() if stock else None
        except (ImportError, AttributeError) as exc:
            log.info("paho speedups off: %s", exc)
            cls = None
        _installed.append(cls)
    cls = _installed[0]
    if cls is not None:
        # lazy: paho's internals, imported where a paho that differs is handled
        from paho.mqtt import _packet

        _packet.Properties = cls  # pyright: ignore[reportPrivateImportUsage]
    return cls


def uninstall():
    """Back to paho's own Properties (bench/ingest.py's raw-paho baseline)."""
    if _installed and _installed[0] is not None:
        # lazy: paho's internals, imported where a paho that differs is handled
        from paho.mqtt import _packet
        from paho.mqtt.properties import Properties

        _packet.Properties = Properties  # pyright: ignore[reportPrivateImportUsage]
