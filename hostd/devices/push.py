"""Push what a device shows: session (S) and idle (I) messages on its session topic.

Retained semantics, so a device that reconnects or reboots gets its screen:
  - an open session is published retained while its screen time runs;
  - when it is rated, or its screen time ends, the idle screen replaces it
    (also retained: who is on duty, or 暂停服务);
  - a duty change publishes the idle screen at once, unless a session is on
    the screen: the idle screen follows when that session ends.
ScreenKeeper (one thread per hostd run) watches the sessions on screen and
swaps them for the idle screen; at start it republishes every device's
current screen, since the broker's retained copy may be older than the
database.

Field order comes from protocol/messages.py (spec(SESSION), spec(IDLE)).
"""

import logging
import threading
import time

from hostd.base import hall_time
from hostd.devices import render
from hostd.rules import links, session_kinds, sessions, staff
from protocol import canonical, messages, topics

log = logging.getLogger("hostd.push")

MESSAGE_NAME_CHARS = 40  # item/staff names in the message: the device draws the parts, not these
TICK_S = 0.25


NOTICE_S = 10  # how long a device says its session was rated elsewhere
RATED_ELSEWHERE = {  # a session on screen rated through another channel: what the device says
    "agent": "本次服务已由申请人评价",  # 帮办代办: the applicant was first (the agent stands at the device)
    "other": "本次服务已在其他渠道评价",  # 12 characters at most: one line of the window part
}


def _rated_elsewhere(session):
    """The notice for a device whose session was rated through another
    channel (the link, SMS, paper), or None."""
    rating = (session or {}).get("rating")
    if not session or session["state"] != "rated" or not rating or rating["channel"] == "device":
        return None
    return RATED_ELSEWHERE["agent" if session.get("agent_id") else "other"]


def window_title(place):
    return place["name"] or "%s号窗口" % place["window"]


def session_fields(ctx, session, now, renderer=None):
    """The S message fields for `session` (a sessions.get() dict)."""
    renderer = renderer or render.renderer_for(ctx.config)
    qr = links.rate_url(ctx, session["session_id"], session["rate_until"])
    item_name = session_kinds.display_name(session)  # 一件事: the theme and its item count
    parts = renderer.session_parts(item_name, session["staff_name"], qr, session["staff_no"])
    ttl = max(1, int(session["screen_until"] - now))
    return [
        messages.VERSION,
        messages.SESSION,
        session["device_id"],
        session["session_id"],
        session["item_code"],
        item_name[:MESSAGE_NAME_CHARS],
        session["staff_id"],
        session["staff_name"][:MESSAGE_NAME_CHARS],
        session["staff_no"],
        session["cases"],
        ttl,
        qr,
        int(now),
        parts,
    ]


def idle_fields(ctx, place, device_id, now, renderer=None):
    """The I message fields for a window (a staff.get_window() dict)."""
    renderer = renderer or render.renderer_for(ctx.config)
    serving = place["staff_id"] is not None
    standing = links.window_url(ctx, place["window"], place.get("qr_generation") or 1)  # the sticker's code
    parts = renderer.idle_parts(
        window_title(place),
        place["staff_name"] if serving else None,
        place["staff_no"] if serving else None,
        standing,
    )
    return [
        messages.VERSION,
        messages.IDLE,
        device_id,
        place["window"],
        place["staff_id"],
        place["staff_name"],
        place["staff_no"],
        serving,
        int(now),
        parts,
    ]


class ScreenKeeper:
    """Knows which device shows which session and puts the idle screen back."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.showing = {}  # device_id -> session_id published retained
        self.lock = threading.Lock()
        # One push at a time, render to publish (republish_all checks, then
        # pushes, under it); pushes[device] counts each device's pushes.
        self.push_lock = threading.RLock()
        self.pushes = {}
        self.stopping = threading.Event()
        self.thread = None
        self.last = {}  # device_id -> {"kind", "bytes", "render_ms"} of the last push
        self.notices = {}  # device_id -> until when its idle screen carries a notice (RATED_ELSEWHERE)

    # -- publishing -------------------------------------------------------
    def _publish(self, device_id, fields):
        publisher = self.ctx.publisher
        if publisher is None:
            return None
        fit_device_buffer(fields, device_id)
        try:
            return publisher.publish_signed(self.ctx.hall, device_id, topics.SESSION, fields, retain=True)
        except LookupError as exc:  # revoked meanwhile
            log.warning("no push to %s: %s", device_id, exc, extra=hall_time.about(device=device_id))
            return None

    def push_session(self, session):
        """Render and publish a session on its device; return the push info."""
        with self.push_lock:
            return self._push_session(session)

    def _push_session(self, session):
        started = time.perf_counter()
        now = self.ctx.clock.now()
        fields = session_fields(self.ctx, session, now)
        render_ms = (time.perf_counter() - started) * 1000
        wire = self._publish(session["device_id"], fields)
        info = {
            "kind": "session",
            "bytes": len(wire) if wire else None,
            "render_ms": round(render_ms, 2),
            "pushed": wire is not None,
        }
        with self.lock:
            self.showing[session["device_id"]] = session["session_id"]
            self.last[session["device_id"]] = info
            self.pushes[session["device_id"]] = self.pushes.get(session["device_id"], 0) + 1
        return info

    def push_idle(self, device_id, place=None, notice=None):
        """The device's idle screen; `notice` (a line of Chinese) takes the window
        title's place for NOTICE_S seconds, then the plain idle screen follows."""
        with self.push_lock:
            return self._push_idle(device_id, place, notice)

    def _push_idle(self, device_id, place, notice=None):
        with self.ctx.store.read() as db:
            if place is None:
                window = db.conn.execute(
                    "SELECT window FROM devices WHERE device_id = ?", (device_id,)
                ).fetchone()
                if window is None:
                    return None
                place = staff.get_window(db, self.ctx.hall, window[0])
        started = time.perf_counter()
        now = self.ctx.clock.now()
        fields = idle_fields(self.ctx, dict(place, name=notice) if notice else place, device_id, now)
        render_ms = (time.perf_counter() - started) * 1000
        wire = self._publish(device_id, fields)
        info = {
            "kind": "idle",
            "bytes": len(wire) if wire else None,
            "render_ms": round(render_ms, 2),
            "pushed": wire is not None,
        }
        with self.lock:
            self.showing.pop(device_id, None)
            self.last[device_id] = info
            self.pushes[device_id] = self.pushes.get(device_id, 0) + 1
            if notice:
                self.notices[device_id] = now + NOTICE_S
            else:
                self.notices.pop(device_id, None)
        return info

    def window_changed(self, window):
        """Duty changed at `window`: push its idle screen where no session shows."""
        with self.ctx.store.read() as db:
            place = staff.get_window(db, self.ctx.hall, window)
        for device_id in place["devices"]:
            with self.lock:
                busy = device_id in self.showing
            if not busy:
                self.push_idle(device_id, place)

    # -- the thread --------------------------------------------------------
    def republish_all(self):
        """Every device's current screen (at start: the broker may hold an old
        one); returns {"devices", "pushed", "seconds"}."""
        started = time.monotonic()
        pushed = 0
        with self.lock:
            before = dict(self.pushes)  # a device pushed after this has a newer screen than we read
        now = self.ctx.clock.now()
        with self.ctx.store.read() as db:
            # known: the window has a windows row (a duty change or `hostd window
            # add` made it); of a window hostd knows nothing about, the device's
            # own screen stands.
            devices = [
                (r[0], r[1])
                for r in db.conn.execute(
                    "SELECT d.device_id, EXISTS (SELECT 1 FROM windows w WHERE w.hall = d.hall"
                    " AND w.window = d.window) FROM devices d WHERE d.hall = ?"
                    " AND d.revoked_at IS NULL",
                    (self.ctx.hall,),
                )
            ]
            current = {d: sessions.screen_session(db, d, now) for d, _known in devices}
        for device_id, known in devices:
            try:
                info = None
                with self.push_lock:
                    with self.lock:
                        newer = self.pushes.get(device_id, 0) != before.get(device_id, 0)
                    if newer:  # a session opened (or ended) meanwhile: its push stands
                        info = self.last.get(device_id)
                    elif current[device_id] is not None:
                        info = self._push_session(current[device_id])
                    elif known:
                        info = self._push_idle(device_id, None)
                pushed += bool(info and info["pushed"])
            except Exception:
                log.exception(
                    "could not push the screen of %s", device_id, extra=hall_time.about(device=device_id)
                )
        return {"devices": len(devices), "pushed": pushed, "seconds": round(time.monotonic() - started, 3)}

    def tick(self):
        now = self.ctx.clock.now()
        with self.lock:
            showing = list(self.showing.items())
            notices = [d for d, until in self.notices.items() if now >= until and d not in self.showing]
        ended = []
        if showing:
            with self.ctx.store.read() as db:
                for device_id, session_id in showing:
                    s = sessions.find(db, session_id)
                    if s is None or s["state"] != "open" or now >= s["screen_until"]:
                        ended.append((device_id, session_id, _rated_elsewhere(s)))
        # Each push checks again under push_lock, which push_session holds too:
        # a session pushed meanwhile is never covered by an idle screen.
        for device_id, session_id, notice in ended:
            with self.push_lock:
                with self.lock:
                    if self.showing.get(device_id) != session_id:
                        continue  # a newer session was pushed meanwhile
                self._push_idle(device_id, None, notice)
        for device_id in notices:  # the notice has been read: who is serving again
            with self.push_lock:
                with self.lock:
                    until = self.notices.get(device_id)
                    if device_id in self.showing or until is None or now < until:
                        continue
                self._push_idle(device_id, None)

    def start(self):
        self.thread = threading.Thread(target=self._run, name="hostd-screens", daemon=True)
        self.thread.start()
        return self

    def _run(self):
        try:
            self.republish_all()
        except Exception:
            log.exception("republishing the screens failed")
        while not self.stopping.wait(TICK_S):
            try:
                self.tick()
            except Exception:
                log.exception("screen keeper tick failed")

    def stop(self):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(5)


def keeper(ctx):
    """The ScreenKeeper of this Context (made on first use, not started)."""
    found = getattr(ctx, "screens", None)
    if found is None:
        found = ctx.screens = ScreenKeeper(ctx)
    return found


def start(ctx):
    return keeper(ctx).start()


# The signed wire is the canonical body plus ',"<64 hex>"' before its closing bracket.
_SIGNATURE_BYTES = 67


def fit_device_buffer(fields, device_id):
    """Drop bitmap parts from the end (QR first) until the message fits the
    device's receive buffer (messages.MAX_HOST_MESSAGE); the device shows the
    rest. Rendering keeps messages well under it, so this is a guard."""
    parts = fields[-1]
    while parts and len(canonical.encode(fields)) + _SIGNATURE_BYTES > messages.MAX_HOST_MESSAGE:
        dropped = parts.pop()
        log.error(
            "screen for %s over %d bytes: part %r left out",
            device_id,
            messages.MAX_HOST_MESSAGE,
            dropped[0],
            extra=hall_time.about(device=device_id),
        )
    return fields
