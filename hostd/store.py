"""The durable store: one SQLite file, one writer thread, group commit.

Every write in hostd goes through `Store.submit(op, callback)`. The writer
thread takes the queued ops in batches (up to `max_batch` ops, waiting at
most `max_wait_ms` for more after the first), runs each op inside its own
savepoint of one transaction, and COMMITs once per batch. (Ops marked
`retryable`, such as rating inserts, run without savepoints when a batch
holds nothing else; if one fails, the batch is undone and run again op by
op.) Only after that COMMIT has returned (WAL + synchronous=FULL: the batch
is on disk) does it call each op's `callback(result, error)`. That is where
the collector sends its ack, so an ack always means "durable".

Reads use `Store.read()`: a read-only connection per thread; WAL lets readers
run while the writer commits.
"""

import logging
import queue
import sqlite3
import threading
import time
import urllib.parse
from contextlib import contextmanager

import sqlite_utils

from hostd import binding, clock, pipeline, schema, stats
from protocol import messages

log = logging.getLogger("hostd.store")

STORED = messages.STORED  # a new row
DUPLICATE = messages.DUPLICATE  # same device+seq, byte-identical wire: a resend
REPLAYED = "replayed"  # same device+seq, different content: refused

BUSY_TIMEOUT_S = 30.0  # another process (the CLI) may hold the write lock briefly
_STOP = object()


class StoreError(Exception):
    """Base class of store errors; the message says what to do."""


class StoreClosed(StoreError):
    pass


class NotWal(StoreError):
    pass


def connect(path, readonly=False):
    if readonly:
        uri = "file:%s?mode=ro" % urllib.parse.quote(path)
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    return sqlite_utils.Database(conn, execute_plugins=False)


def open_database(path):
    """A sqlite_utils.Database on `path` with WAL, synchronous=FULL and the
    schema migrated. For tools (the CLI) that write outside a running Store."""
    db = connect(str(path))
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode.lower() != "wal":
        db.conn.close()
        raise NotWal("%s: SQLite refused WAL mode (%s); put hostd.db on a local disk" % (path, mode))
    db.execute("PRAGMA synchronous=FULL")
    schema.migrate(db)
    return db


class Store:
    def __init__(self, path, max_batch=256, max_wait_ms=2.0):
        self.path = str(path)
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self._db = open_database(self.path)  # owned by the writer thread from here on
        self._lookups = stats.Lookups()  # valid within one batch: see _commit_batch
        self._queue = queue.SimpleQueue()  # C-fast put: the collector thread queues every rating
        self._local = threading.local()
        self._readers = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self.batch_time = int(clock.now())  # clock.now() when the current batch began
        self.ops = 0  # ops run
        self.commits = 0  # COMMITs done
        self.largest_batch = 0
        self._thread = threading.Thread(target=self._run, name="hostd-store-writer", daemon=True)
        self._thread.start()

    # -- writes ---------------------------------------------------------
    def submit(self, op, callback=None):
        """Queue `op(db)`; `callback(result, error)` runs after its batch commits."""
        if self._closed:
            raise StoreClosed("the store is closed; writes after close() are refused")
        self._queue.put((op, callback))

    def run(self, op, timeout=None):
        """Submit `op` and wait for its commit; return its result or raise its error."""
        if threading.current_thread() is self._thread:
            return op(self._db)  # already inside the writer's transaction
        done = threading.Event()
        box = {}

        def finished(result, error):
            box["result"], box["error"] = result, error
            done.set()

        self.submit(op, finished)
        if not done.wait(timeout):
            raise TimeoutError("the store writer did not commit within %ss" % timeout)
        if box["error"] is not None:
            raise box["error"]
        return box["result"]

    def _next_batch(self):
        first = self._queue.get()
        if first is _STOP:
            return None, True
        batch = [first]
        if self.max_wait > 0:
            # Let more arrive, asleep: waiting in get() would wake this thread
            # (and take the GIL from the collector) once per arriving op.
            time.sleep(self.max_wait)
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _run(self):
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if batch:
                self._commit_batch(batch)
        # drain whatever was queued before close() flipped the flag
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                self._commit_batch([item])

    def _commit_batch(self, batch):
        conn = self._db.conn
        outcomes = None
        self.batch_time = int(clock.now())  # received_at of this batch's ratings
        try:
            conn.execute("BEGIN IMMEDIATE")  # no other connection writes until COMMIT
            if all(getattr(op, "retryable", False) for op, _ in batch):
                outcomes = self._run_plain(batch)
            if outcomes is None:
                outcomes = self._run_isolated(batch)
            conn.execute("COMMIT")
        except Exception as error:
            log.error("commit of %d writes failed: %s", len(batch), error)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(callback, None, error) for _, callback in batch]
        else:
            self.commits += 1
        self.ops += len(batch)
        self.largest_batch = max(self.largest_batch, len(batch))
        self._lookups.clear()
        for callback, result, error in outcomes:
            if callback is None:
                if error is not None:
                    log.error("write failed: %r", error)
                continue
            try:
                callback(result, error)
            except Exception:
                log.exception("store callback failed")

    def _run_isolated(self, batch):
        """Each op in its own savepoint: a failed op is undone alone."""
        conn, lookups = self._db.conn, self._lookups
        lookups.clear()
        outcomes = []
        for op, callback in batch:
            conn.execute("SAVEPOINT op")
            try:
                result = op(self._db)
            except Exception as error:  # one bad op must not sink the batch
                conn.execute("ROLLBACK TO op")
                outcomes.append((callback, None, error))
            else:
                outcomes.append((callback, result, None))
            conn.execute("RELEASE op")
            if not getattr(op, "keeps_lookups", False):
                lookups.clear()  # it may have changed devices, staff, windows, duty_log
        return outcomes

    def _run_plain(self, batch):
        """A batch of retryable ops (rating inserts: database work only) without
        savepoints, which cost each op a copy of every page it changes. If one
        fails, the transaction so far is undone and None returned: the caller
        runs the batch again with _run_isolated."""
        conn, lookups = self._db.conn, self._lookups
        lookups.clear()
        outcomes = []
        try:
            for op, callback in batch:
                outcomes.append((callback, op(self._db), None))
                if not getattr(op, "keeps_lookups", False):
                    lookups.clear()
        except Exception:
            conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE")
            return None
        return outcomes

    # -- reads ----------------------------------------------------------
    @contextmanager
    def read(self):
        """A read-only sqlite_utils.Database for this thread (reused)."""
        db = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise StoreClosed("the store is closed")
            db = connect(self.path, readonly=True)
            self._local.db = db
            with self._readers_lock:
                # close the connections of threads that have ended (a web
                # server may use one thread per request)
                for _thread, old in [r for r in self._readers if not r[0].is_alive()]:
                    old.conn.close()
                self._readers = [r for r in self._readers if r[0].is_alive()]
                self._readers.append((threading.current_thread(), db))
        try:
            yield db
        finally:
            if db.conn.in_transaction:
                db.conn.rollback()

    # -- lifecycle ------------------------------------------------------
    def close(self):
        """Commit everything queued, stop the writer, close connections."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        self._db.conn.close()
        with self._readers_lock:
            for _, db in self._readers:
                db.conn.close()
            self._readers.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- domain writes --------------------------------------------------
    def store_rating(self, fields, wire, hall, callback=None, after_store=None):
        """Insert a verified rating, or tell a resend from a replay.

        `fields`: the decoded rating (list from messages.decode, or its dict).
        Result: STORED, DUPLICATE or REPLAYED. `after_store(db, rating, hall)`
        runs in the same transaction right after a new row is inserted.
        """
        wire = bytes(wire)

        def op(db):  # the dict is made here, on the writer: the caller's thread is busier
            rating = fields if isinstance(fields, dict) else dict(zip(_RATING_NAMES, fields))
            # received: when its batch began, a few ms at most after it arrived
            return insert_rating(db, rating, wire, hall, self.batch_time, after_store, self._lookups)

        # A rating insert changes no table that Lookups caches, and does
        # database work only, so a failed batch may run it again.
        op.keeps_lookups = op.retryable = after_store is None
        self.submit(op, callback)

    def update_status(self, fields, hall, callback=None):
        """Record a verified status (heartbeat, or the last-will offline)."""
        status = fields if isinstance(fields, dict) else messages.as_dict(fields)
        now = int(time.time())

        def op(db):
            return upsert_status(db, status, hall, now)

        op.keeps_lookups = op.retryable = True  # device_status only
        self.submit(op, callback)

    def mark_offline(self, device_id, callback=None):
        now = int(time.time())

        def op(db):
            return set_offline(db, device_id, now)

        op.keeps_lookups = op.retryable = True
        self.submit(op, callback)


_RATING_NAMES = messages.field_names(messages.RATING)
_SEEN_SQL = "SELECT wire FROM ratings WHERE device_id = ? AND seq = ?"
_INSERT_SQL = (
    "INSERT INTO ratings (channel, device_id, seq, hall, window, session_id, binding,"
    " level, reasons, cases, staff, device_time, clock_synced, received_at, wire,"
    " staff_id, unit_id, item_code, matched_offline)"
    " VALUES ('device', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def insert_rating(db, rating, wire, hall, received_at, after_store=None, lookups=None):
    """Insert a verified device rating; bind it to its session (hostd/binding.py)
    and run what follows a rating (hostd/pipeline.py), all in this transaction.

    The row goes in complete: bound, attributed (谁办理谁负责, hostd.stats.
    responsible_for) and marked matched_offline, so the daily-totals triggers
    fire once. `lookups` (hostd.stats.Lookups) caches the registry, staff and
    duty rows within the writer's transaction."""
    conn = db.conn
    session_id, bound, window, session = binding.bind_device(db, rating, hall, received_at, lookups=lookups)
    staff_id = unit_id = item_code = None
    if session is not None:
        staff_id, unit_id, item_code, session_window = session
        window = window or session_window
    staff_id, unit_id = stats.responsible_for(
        db, hall, window, rating["staff"], received_at, staff_id, unit_id, lookups
    )
    level = rating["level"]
    try:
        rating_id = conn.execute(
            _INSERT_SQL,
            (
                rating["device"],
                rating["seq"],
                hall,
                window,
                session_id,
                bound,
                level,
                "[" + ",".join(str(code) for code in rating["reasons"]) + "]",
                rating["cases"],
                rating["staff"],
                rating["time"],
                int(rating["synced"]),
                received_at,
                wire,
                staff_id,
                unit_id,
                item_code,
                int(bound == "session" and rating["session"] is None),
            ),
        ).lastrowid
    except sqlite3.IntegrityError:
        # The failed statement undid itself. (device_id, seq) is taken: a
        # resend or a replay. (Checked after, not before: new rows are the
        # common case, and this saves them a statement.)
        row = conn.execute(_SEEN_SQL, (rating["device"], rating["seq"])).fetchone()
        if row is None:
            raise
        return DUPLICATE if bytes(row[0]) == wire else REPLAYED
    if bound == "session":
        binding.close_session(db, session_id, rating_id, received_at, mark_matched=False)
    pipeline.rating_recorded(
        db,
        rating_id,
        pipeline.Recorded(
            level, bound, session_id, session is not None, hall, window, received_at, staff_id, unit_id
        ),
    )
    if after_store is not None:
        after_store(db, rating, hall)
    return STORED


def upsert_status(db, status, hall, now):
    if status["state"] == messages.OFFLINE:
        # The last will was built when the device connected: its numbers are
        # stale, so only the state changes.
        return set_offline(db, status["device"], now, hall)
    db.conn.execute(
        "INSERT INTO device_status (device_id, hall, state, last_seen, firmware,"
        " outbox_depth, free_heap, clock_synced, uptime, next_seq)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (device_id) DO UPDATE SET hall = excluded.hall,"
        " state = excluded.state, last_seen = excluded.last_seen,"
        " firmware = excluded.firmware, outbox_depth = excluded.outbox_depth,"
        " free_heap = excluded.free_heap, clock_synced = excluded.clock_synced,"
        " uptime = excluded.uptime, next_seq = excluded.next_seq",
        (
            status["device"],
            hall,
            status["state"],
            now,
            status["fw"],
            status["outbox"],
            status["heap"],
            int(status["synced"]),
            status["uptime"],
            status["next_seq"],
        ),
    )
    return status["state"]


def set_offline(db, device_id, now, hall=""):
    db.conn.execute(
        "INSERT INTO device_status (device_id, hall, state, last_seen, offline_at)"
        " VALUES (?, ?, 'offline', ?, ?)"
        " ON CONFLICT (device_id) DO UPDATE SET state = 'offline', offline_at = excluded.offline_at",
        (device_id, hall, now, now),
    )
    return messages.OFFLINE
