# The 评价器 (rating device) state machine: what a press means, and when.
#
#   IDLE --session--> SESSION --good press (levels 5..3)--> record -> THANKS
#                        |--bad press (差评, levels 2..1)--> REASON
#                        '--ttl runs out--> IDLE, nothing recorded
#   REASON --reason press, 跳过 / reason timeout--> record -> THANKS
#          --更多 / 返回--> REASON (the other page of reasons, countdown anew)
#   THANKS --thanks_ms--> IDLE
#   a long press (any state) reads the screen's choices aloud, and rates nothing
#
# Rules (shared/policy.md "The rating", "Integrity"):
# - a rating is appended to the flash outbox, signed, BEFORE "thank you" shows;
# - one service, one rating: after a session is rated, presses do nothing until
#   the next session, and a press within response_interval_ms of a recorded
#   rating is ignored, so staff cannot rate for the citizen by pressing again;
# - a 差评 whose reason never comes is recorded with no reason, never dropped;
# - with the host unreachable (set_online(False)) and a staff member known to
#   be serving, a press in IDLE is recorded with no session against the last
#   known staff; the host matches it to a session later or keeps it marked so
#   (an offline rating). The hall sets how often (config offline_s, 0: never):
#   once per offline_s, so that nobody at the window can stuff ratings while
#   the network is down; the options leave the screen until then;
# - a 差评's reason screen has two pages of five (态度 效率 质量 环境 更多 /
#   便捷性 其他 跳过 - 返回) and counts down its reason_timeout_s on screen;
#   跳过 and the timeout record the 差评 with no reason ("reason not given");
# - 回避式: the thanks screen is the same whatever the level (config
#   show_level 1 shows it);
# - a full outbox refuses the rating: the buttons' row says so and points to
#   the QR code; the state stays;
# - the voice (firmware/voice.py, optional): the invitation when a session
#   arrives, the reason page's choices with it, thanks after a rating.
#
# Plain class, no asyncio: firmware/app.py calls press(), tick() and the
# on_* handlers from its UI loop, and tests drive it with a fake ticks_ms.
import time

from firmware.outbox import OutboxFull
from protocol import wire as messages
from protocol.compat import const

# States. Private consts, strings and ints alike: no name in the device's
# qstr pool (README, "Device heap").
_IDLE = const("idle")
_SESSION = const("session")
_REASON = const("reason")  # 差评: waiting for the reason
_THANKS = const("thanks")

_BUTTONS = const(5)
_REASON_TIMEOUT_S = const(30)
_REASON_GUARD_MS = const(500)  # a double tap on a 差评 button is not its reason
_OFFLINE_S = const(60)  # config offline_s when the config has none
# What each button does on each reason page (page * 5 + button): a reason
# code (protocol.wire REASON_CODES), _TURN (更多 / 返回), _SKIP or _BLANK.
_TURN = const(-2)
_SKIP = const(-1)
_BLANK = const(0)
_CHOICES = const((1, 2, 3, 4, -2, 6, 5, -1, 0, -2))
_REMEMBERED = const(8)  # rated session ids kept to ignore a QoS1 redelivery

# Session fields (protocol/messages.py spec(SESSION)).
_S_ID = const(3)
_S_ITEM_CODE = const(4)
_S_STAFF_ID = const(6)
_S_STAFF_NO = const(8)
_S_CASES = const(9)
_S_TTL = const(10)
_S_PARTS = const(13)
# Idle fields (spec(IDLE)).
_I_WINDOW = const(3)
_I_STAFF_ID = const(4)
_I_STAFF_NO = const(6)
_I_SERVING = const(7)
_I_PARTS = const(9)


class Evaluator:
    def __init__(self, config, display, outbox, clock, ticks_ms, ticks_diff=None, voice=None):
        self.config = config
        self.display = display
        self.outbox = outbox
        self.clock = clock
        self.ticks_ms = ticks_ms
        self.ticks_diff = ticks_diff or getattr(time, "ticks_diff", None) or (lambda a, b: a - b)
        self.voice = voice
        self.state = _IDLE
        self.revoked = False
        self.online = False
        self.refused = 0  # presses the full outbox refused
        # Last known window and staff, from idle and session messages.
        self.window = getattr(config, "window", "") or ""
        self.staff_id = None
        self.staff_no = None
        self.serving = False
        self.idle_parts = None
        self.session = None  # fields of the session on screen (None: unsessioned)
        self._at = 0  # ticks since when the state has been on (session, reason page, thanks)
        self._session_ms = 0
        self._rated = []  # ids of recently rated sessions
        self._level = 0  # the 差评 level waiting for its reason
        self._page = 0  # the reason page on screen
        self._left = 0  # the reason screen's seconds left, as shown
        self._offline_at = None  # ticks of the last offline rating, until offline_s has passed
        self._pressed_time = 0  # unix time of the level press
        self._rated_at = None  # ticks of the last recorded rating
        display.set_online(False)
        self._show_idle()

    # -- messages from the host ----------------------------------------------

    def on_idle(self, fields):
        """Who is on duty at the window (or nobody: 暂停服务)."""
        if self.revoked:
            return
        self.window = fields[_I_WINDOW]
        self.staff_id = fields[_I_STAFF_ID]
        self.staff_no = fields[_I_STAFF_NO]
        self.serving = fields[_I_SERVING] and fields[_I_STAFF_ID] is not None
        self.idle_parts = fields[_I_PARTS]
        if self.state == _SESSION:
            # hostd sends the idle screen while a session shows only when it
            # has ended it: rated by its QR code, or cancelled. (A reason
            # screen is the citizen's: it finishes first.)
            self.session = None
            self.state = _IDLE
        if self.state == _IDLE:
            self._show_idle()

    def on_session(self, fields):
        """A finished service to be rated."""
        if not self.wants_session(fields):
            return
        if self.state == _REASON:
            self._record([])  # the pending 差评 is kept even without a reason
        self.staff_id = fields[_S_STAFF_ID]
        self.staff_no = fields[_S_STAFF_NO]
        self.serving = True
        ttl = fields[_S_TTL]
        if ttl <= 0:
            ttl = self.config.session_ttl_s
        self.session = fields
        self._at = self.ticks_ms()
        self._session_ms = ttl * 1000
        self.state = _SESSION
        self.display.show_session(fields[_S_ITEM_CODE], fields[_S_STAFF_NO], fields[_S_PARTS])
        if self.voice:
            self.voice.start(0)  # the invitation

    def wants_session(self, fields):
        """Whether on_session(fields) would show it (not a QoS1 redelivery of
        a session rated or on screen): the app stores its bitmaps only then."""
        if self.revoked:
            return False
        session_id = fields[_S_ID]
        if session_id in self._rated:
            return False  # a redelivered session that has had its one rating
        if self.session is not None and self.session[_S_ID] == session_id and self.state != _IDLE:
            return False  # already on screen (QoS1 redelivery)
        return True

    def set_revoked(self, revoked=True):
        """The host has disabled this device: 设备已停用, presses do nothing.

        set_revoked(False) undoes it (the broker let the device in again).
        """
        if not revoked:
            if self.revoked:
                self.revoked = False
                self._to_idle()
            return
        if self.state == _REASON:
            self._record([])
        self.revoked = True
        self.state = _IDLE
        self.session = None
        self.display.show_revoked()

    def set_online(self, online, why=""):
        """Whether the host can be reached (sessions and acks arrive); `why`
        not, in short ASCII for the screen."""
        online = bool(online)
        self.display.set_online(online, why)
        if online == self.online:
            return
        self.online = online
        if self.state == _IDLE and not self.revoked and self.serving:
            self._show_idle()  # the options show only when idle presses count

    def outbox_changed(self):
        """Acks freed outbox space: clear the storage-full banner if it is so."""
        if self.display.full and not self.outbox.full():
            self.display.set_full(False)

    # -- the citizen -----------------------------------------------------------

    def press(self, index):
        """Button `index` (0 = leftmost) was pressed, or 5 + index held down
        (a long press). True if it did something."""
        if self.revoked or not 0 <= index < 2 * _BUTTONS:
            return False
        if index >= _BUTTONS:  # a long press: the choices read aloud; rates nothing
            if self.voice:
                self.voice.start(3 + self._page if self.state == _REASON else 2)
            return False
        now = self.ticks_ms()
        if (
            self._rated_at is not None
            and self.ticks_diff(now, self._rated_at) < self.config.response_interval_ms
        ):
            return False
        state = self.state
        if state == _SESSION or (state == _IDLE and self.takes_idle_ratings()):
            if state == _IDLE:
                self.session = None  # unsessioned rating
            self._level = messages.LEVEL_MAX - index  # button 0 (leftmost) is 非常满意, 5
            self._pressed_time = self.clock.now()
            if self._level <= messages.BAD_LEVEL_MAX:
                self.state = _REASON
                self._at = now
                self._page = 0
                self._reason()
                return True
            return self._record([])
        if state == _REASON:
            if self.ticks_diff(now, self._at) < _REASON_GUARD_MS:
                return False
            code = _CHOICES[self._page * _BUTTONS + index]
            if code == _TURN:
                self._page = 1 - self._page
                self._at = now  # the countdown starts again on the new page
                self._reason()
                return True
            if code == _BLANK:
                return False
            return self._record([code] if code > 0 else [])
        return False  # THANKS, or IDLE with nobody serving or the host online

    def takes_idle_ratings(self):
        """A press in IDLE counts only offline, with a staff member serving,
        where the hall allows offline ratings, once per offline_s."""
        return (
            not self.online
            and self.serving
            and self.staff_id is not None
            and self._offline_at is None
            and getattr(self.config, "offline_s", _OFFLINE_S) > 0
        )

    def tick(self):
        """Run the timeouts and the voice; call it every few tens of milliseconds."""
        if self.voice:
            self.voice.tick()
        state = self.state
        if state == _IDLE:
            at = self._offline_at
            if at is not None and self.ticks_diff(self.ticks_ms(), at) >= (
                getattr(self.config, "offline_s", _OFFLINE_S) * 1000
            ):
                self._offline_at = None
                if not self.revoked:
                    self._show_idle()  # offline presses count again: the options are back
            return
        elapsed = self.ticks_diff(self.ticks_ms(), self._at)
        if state == _SESSION and elapsed >= self._session_ms:
            self.session = None  # unrated: the host makes it a default rating later
            self._to_idle()
        elif state == _REASON:
            timeout = getattr(self.config, "reason_timeout_s", _REASON_TIMEOUT_S) * 1000
            if elapsed >= timeout:
                if not self._record([]):
                    self._at = self.ticks_ms()  # try again after another timeout
                return
            left = (timeout - elapsed + 999) // 1000
            if left != self._left:
                self._left = left
                self.display.countdown(left)
        elif state == _THANKS and elapsed >= self.config.thanks_ms:
            self._to_idle()

    # -- inside ------------------------------------------------------------------

    def _reason(self):
        self._left = getattr(self.config, "reason_timeout_s", _REASON_TIMEOUT_S)
        self.display.show_reason(self.session[_S_PARTS] if self.session else None, self._page, self._left)
        if self.voice:
            self.voice.start(3 + self._page)

    def _record(self, reasons):
        """Append the rating to the outbox, then thank. False if refused."""
        cfg = self.config
        session = self.session
        if session is None:
            fields = [
                messages.VERSION,
                messages.RATING,
                cfg.device_id,
                0,
                None,
                self._level,
                reasons,
                1,
                self.staff_id,
                self._pressed_time,
                self.clock.synced,
            ]
        else:
            fields = [
                messages.VERSION,
                messages.RATING,
                cfg.device_id,
                0,
                session[_S_ID],
                self._level,
                reasons,
                max(1, session[_S_CASES]),
                session[_S_STAFF_ID],
                self._pressed_time,
                self.clock.synced,
            ]

        def make_wire(seq):
            fields[3] = seq
            return messages.sign(cfg.key, fields)

        try:
            self.outbox.append(make_wire)
        except OutboxFull:
            self.refused += 1
            self.display.set_full(True)
            return False
        now = self.ticks_ms()
        self._rated_at = now
        if session is not None:
            self._rated.append(session[_S_ID])
            if len(self._rated) > _REMEMBERED:
                self._rated.pop(0)
        else:
            self._offline_at = now  # the next offline rating after offline_s
        self.session = None
        # Full now: the next citizen is told before they press (show_thanks draws it).
        self.display.set_full(self.display.full or self.outbox.full(), False)
        self.state = _THANKS
        self._at = now
        self.display.show_thanks(self._level if getattr(cfg, "show_level", 0) else 0)
        if self.voice:
            self.voice.start(1)
        return True

    def _to_idle(self):
        self.state = _IDLE
        self._show_idle()

    def _show_idle(self):
        self.display.show_idle(
            self.window, self.staff_no, self.serving, self.idle_parts, self.takes_idle_ratings()
        )
