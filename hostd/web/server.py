"""uvicorn serving the app in a background thread of `hostd run`."""

import logging
import threading
import time

import uvicorn

log = logging.getLogger("hostd.web")


# How long an idle keep-alive connection stays open. Longer than clients keep
# theirs (httpx 5 s, browsers 4-60 s): when both sides give up after the same
# idle time, a request sent on the connection the server is closing at that
# moment gets "Server disconnected without sending a response". At 5 s it
# ended `make demo` (httpx, a call every 5-9 s per window) after 12 minutes.
# 75 s is nginx's default.
KEEP_ALIVE_S = 75


class WebServer:
    def __init__(self, app, host, port):
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        self.server = uvicorn.Server(config)
        self.host, self.port = host, port
        self.url = "http://%s:%d/" % ("127.0.0.1" if host in ("0.0.0.0", "::") else host, port)
        self._thread = threading.Thread(target=self.server.run, name="hostd-web", daemon=True)

    def start(self, timeout=10.0):
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start on %s:%d" % (self.host, self.port))
            time.sleep(0.02)
        return self

    def stop(self, timeout=10.0):
        self.server.should_exit = True
        self._thread.join(timeout)
