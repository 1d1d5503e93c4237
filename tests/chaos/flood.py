"""A flooding device: raw MQTT 3.1.1 over a socket, in its own process.

It sends valid, signed QoS1 ratings on its own topic at `rate` messages/s,
plus every `big_every` messages one `big_bytes` payload (the broker's
max_packet_size closes the connection: it reconnects at once) and one
`mid_bytes` payload (passes the broker, over the collector's size limit).
PUBACKs are read and thrown away. Prints one JSON line of counts.
"""

import json
import os
import socket
import struct
import sys
import time


def _varint(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (128 if n else 0))
        if not n:
            return bytes(out)


def _string(b):
    return struct.pack("!H", len(b)) + b


def connect_packet(client_id, user=b"", password=b""):
    flags = 0x02 | (0xC0 if user else 0)
    body = _string(b"MQTT") + bytes([4, flags]) + struct.pack("!H", 60) + _string(client_id)
    if user:
        body += _string(user) + _string(password)
    return b"\x10" + _varint(len(body)) + body


def publish_packet(topic, mid, payload):
    body = _string(topic) + struct.pack("!H", mid) + payload
    return b"\x32" + _varint(len(body)) + body


def _connect(port, client_id, user, password):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(connect_packet(client_id, user, password))
    sock.settimeout(5)
    ack = sock.recv(4)
    if ack[:1] != b"\x20" or ack[3:4] != b"\x00":
        raise RuntimeError("broker refused the flood client: %r" % ack)
    sock.setblocking(False)
    return sock


def main(port, hall, device, key_hex, rate, seconds, big_every, big_bytes, mid_bytes):
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [os.path.dirname(tests), tests]
    from chaos.fleet import rating_fields
    from protocol import messages, topics
    from protocol.credentials import mqtt_password
    from protocol.host.signing import HostMac

    login = (device.encode(), mqtt_password(bytes.fromhex(key_hex)).encode())
    key, mac = bytes.fromhex(key_hex), HostMac()
    topic = topics.topic(hall, device, topics.RATING).encode()
    wires = [
        messages.sign(key, rating_fields(device, seq), mac)
        for seq in range(1, min(int(rate * seconds), 50000) + 1)
    ]
    counts = {"sent": 0, "big": 0, "mid": 0, "reconnects": 0, "send_errors": 0}
    sock = _connect(port, b"flood-" + device.encode(), *login)
    start = time.monotonic()
    mid = 0
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        due = int(elapsed * rate) - counts["sent"]
        batch = bytearray()
        for _ in range(max(0, min(due, 2000))):
            mid = mid % 65535 + 1
            batch += publish_packet(topic, mid, wires[counts["sent"] % len(wires)])
            counts["sent"] += 1
            if counts["sent"] % big_every == 0:
                mid = mid % 65535 + 1
                batch += publish_packet(topic, mid, b"[" + b"9" * mid_bytes + b"]")
                counts["mid"] += 1
        try:
            if counts["sent"] and counts["sent"] % big_every < due:
                sock.setblocking(True)
                sock.sendall(bytes(batch))
                batch = bytearray()
                counts["big"] += 1
                sock.sendall(publish_packet(topic, 1, b"x" * big_bytes))
                sock.setblocking(False)
            elif batch:
                sock.setblocking(True)
                sock.sendall(bytes(batch))
                sock.setblocking(False)
            try:
                while sock.recv(65536):
                    pass
            except BlockingIOError:
                pass
        except OSError:
            counts["send_errors"] += 1
            sock.close()
            sock = _connect(port, b"flood-" + device.encode(), *login)
            counts["reconnects"] += 1
        time.sleep(0.005)
    sock.close()
    counts["seconds"] = time.monotonic() - start
    print(json.dumps(counts))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]), a[1], a[2], a[3], float(a[4]), float(a[5]), int(a[6]), int(a[7]), int(a[8]))
