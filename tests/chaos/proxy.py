"""A lossy TCP link on loopback: an asyncio proxy in a thread.

Every chunk read on a connection is held for a random delay (order kept per
direction). With probability `reset_p` per chunk the connection is reset
(RST: SO_LINGER 0); with `stall_p` it turns into a black hole that drops all
further bytes both ways until `stall_s` later, when it is reset (a link that
died silently: only keepalive or a reset ends it). New connections are
refused (closed at once) with probability `refuse_p`, drawn from a random
stream of their own: which connections are refused depends on the seed and
the connection's number only, never on how chunks interleave with them (with
the test's seeds, one of the devices' first connections is refused).
"""

import asyncio
import random
import socket
import struct
import threading


class LossyProxy:
    def __init__(
        self,
        upstream_port,
        delay_ms=(0, 20),
        reset_p=0.002,
        stall_p=0.001,
        stall_s=3.0,
        refuse_p=0.1,
        seed=1,
        upstream_host="127.0.0.1",
    ):
        self.upstream = (upstream_host, upstream_port)
        self.delay_ms, self.reset_p, self.stall_p = delay_ms, reset_p, stall_p
        self.stall_s, self.refuse_p = stall_s, refuse_p
        self.rng = random.Random(seed)
        self.refuse_rng = random.Random("refuse-%d" % seed)
        self.counts = {"connections": 0, "refused": 0, "resets": 0, "stalls": 0, "chunks": 0}
        self.lossy = True
        self.port = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="lossy-proxy", daemon=True)

    def start(self):
        self._thread.start()
        assert self._ready.wait(5), "proxy did not start"
        return self

    def _main(self):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def stop(self):
        def shutdown():
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.call_later(0.1, self._loop.stop)

        self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(5)

    @staticmethod
    def _reset(writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        writer.transport.abort()

    async def _client(self, reader, writer):
        self.counts["connections"] += 1
        if self.lossy and self.refuse_rng.random() < self.refuse_p:
            self.counts["refused"] += 1
            self._reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self._reset(writer)
            return
        link = {"dead": False, "stalled": False}
        ends = (writer, up_writer)
        await asyncio.gather(
            self._pump(reader, up_writer, link, ends),
            self._pump(up_reader, writer, link, ends),
            return_exceptions=True,
        )

    async def _pump(self, reader, writer, link, ends):
        queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def deliver():
            while True:
                due, data = await queue.get()
                if data is None:
                    return
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if link["dead"]:
                    return
                if not link["stalled"]:
                    writer.write(data)
                    await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while not link["dead"]:
                data = await reader.read(65536)
                if not data:
                    break
                self.counts["chunks"] += 1
                if self.lossy and not link["stalled"]:
                    roll = self.rng.random()
                    if roll < self.reset_p:
                        self.counts["resets"] += 1
                        self._kill(link, ends)
                        break
                    if roll < self.reset_p + self.stall_p:
                        self.counts["stalls"] += 1
                        link["stalled"] = True
                        loop.call_later(self.stall_s, self._kill, link, ends)
                delay = self.rng.uniform(*self.delay_ms) / 1000.0 if self.lossy else 0
                queue.put_nowait((loop.time() + delay, data))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            queue.put_nowait((0, None))
            try:
                await sender
            except Exception:
                pass
            if not link["dead"]:
                link["dead"] = True
                for end in ends:
                    end.close()

    def _kill(self, link, ends):
        if link["dead"]:
            return
        link["dead"] = True
        for end in ends:
            self._reset(end)
