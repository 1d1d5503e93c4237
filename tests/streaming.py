"""A device stand-in that streams signed ratings to hostd and keeps each until
its ack comes, resending the same bytes while it waits, as the firmware's
outbox does (test_crash, test_replica)."""

import threading
import time

from hostd_helpers import SigningDevice, rating_fields

from protocol.credentials import mqtt_password

WINDOW = 40  # ratings in flight per device, unacked
RESEND_S = 2.0  # resend a rating whose ack has not come (the firmware waits 15 s)


class Streamer:
    """One device sending `total` ratings until each is acked, a new one at most
    every `pace_s` seconds (0: as fast as its window allows)."""

    def __init__(self, port, hall, device_id, key, total, pace_s=0.0, first=1):
        self.device_id, self.total, self.pace_s, self.first = device_id, total, pace_s, first
        self.dev = SigningDevice(port, hall, device_id, key, username=device_id, password=mqtt_password(key))
        self.dev.client.reconnect_delay_set(0.1, 1)
        self.wire = {}  # seq -> the signed bytes, sent the same every time
        self.sent = set()
        self.resends = 0
        self.done = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="stream " + device_id, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def acked(self):
        """Seqs whose verified ack has arrived (a snapshot)."""
        return set(list(self.dev.ack_arrival))

    def _wire(self, seq):
        if seq not in self.wire:
            fields = rating_fields(self.device_id, seq, level=seq % 5 + 1, session=None)
            self.wire[seq] = self.dev.sign(fields)
        return self.wire[seq]

    def _publish(self, seq):
        self.dev.client.publish(self.dev.topic("rating"), self._wire(seq), qos=1)

    def _run(self):
        pending = {}  # seq -> monotonic time of its last publish
        next_seq = self.first
        last_new = 0.0
        while not self._stop:
            while not self.dev.acks.empty():
                self.dev.acks.get_nowait()
            for seq in self.acked() & pending.keys():
                del pending[seq]
            if next_seq >= self.first + self.total and not pending:
                self.done.set()
                return
            if not self.dev.client.is_connected():
                time.sleep(0.02)
                continue
            now = time.monotonic()
            for seq, at in list(pending.items()):
                if now - at >= RESEND_S:
                    self._publish(seq)
                    pending[seq] = now
                    self.resends += 1
            while (
                len(pending) < WINDOW and next_seq < self.first + self.total and now - last_new >= self.pace_s
            ):
                self._publish(next_seq)
                self.sent.add(next_seq)
                pending[next_seq] = last_new = now
                next_seq += 1
            time.sleep(0.005)

    def close(self):
        self._stop = True
        self._thread.join(5)
        self.dev.close()
