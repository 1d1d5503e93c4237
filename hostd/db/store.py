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

Ops marked `soft` keep state that the next message replaces (a device's
heartbeat): a batch of nothing else commits without waiting for the disk
(synchronous=NORMAL for that COMMIT). The WAL keeps commits in order, so
the next durable commit's sync takes it to disk too; a power cut loses at
most the last heartbeats, never a rating. A fleet of 10,000 devices sends
333 heartbeats a second: their batches no longer queue a rating behind a
disk flush.

The store is an engine: it knows transactions, not ratings. The write
tasks come from the rules (hostd/recording/device_ratings.py, hostd/recording/channels.py ...).

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

from hostd.base import clock
from hostd.db import backup, schema

log = logging.getLogger("hostd.store")

BUSY_TIMEOUT_S = 30.0  # another process (the CLI) may hold the write lock briefly
_STOP = object()


class StoreError(Exception):
    """Base class of store errors; the message says what to do."""


class StoreClosed(StoreError):
    pass


class NotWal(StoreError):
    pass


class NewerDatabase(StoreError):
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
    newer = schema.unknown(db)
    if newer:
        db.conn.close()
        raise NewerDatabase(
            "%s was upgraded by a newer hostd (migration %s is unknown to this one): run that version,"
            " or restore a backup made before the upgrade (hostd restore --from FILE)"
            % (path, " ".join(newer[0]))
        )
    todo = schema.pending(db)
    if todo and schema.has_data(db):
        # An upgrade: a checked copy first, so a failed migration loses nothing.
        saved = "%s.pre-migrate-%d" % (path, int(time.time()))
        backup.copy(path, saved)
        log.warning("%d schema change(s) to apply to %s; a copy is kept in %s", len(todo), path, saved)
    schema.migrate(db)
    return db


def _durable_again(conn):
    """synchronous=FULL again after a soft batch (SQLite refuses it inside a
    transaction: one left open by a failed ROLLBACK is rolled back first)."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute("PRAGMA synchronous=FULL")
        return True
    except sqlite3.Error as exc:
        log.error("could not set synchronous=FULL again after a heartbeat batch: %s", exc)
        return False


class Store:
    def __init__(self, path, max_batch=256, max_wait_ms=2.0):
        self.path = str(path)
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self._db = open_database(self.path)  # owned by the writer thread from here on
        # Rows an op may cache for the rest of its batch (hostd/rules/attribution.py
        # Lookups): cleared at each batch, and after any op not marked `keeps_cache`.
        self.batch_cache = {}
        self._queue = queue.SimpleQueue()  # C-fast put: the collector thread queues every rating
        self._local = threading.local()
        self._readers = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self.batch_time = int(clock.now())  # clock.now() when the current batch began
        self.ops = 0  # ops run
        self.commits = 0  # COMMITs done
        self.soft_commits = 0  # of which without a disk flush (heartbeats only)
        self._durable = True  # synchronous=FULL is set (a soft batch sets it back after itself)
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
        soft = all(getattr(op, "soft", False) for op, _ in batch)
        if soft:
            conn.execute("PRAGMA synchronous=NORMAL")  # heartbeats only: no disk flush to wait for
        try:
            if not soft and not self._durable:  # FULL could not be set back: try again, or fail the batch
                self._durable = _durable_again(conn)
                if not self._durable:
                    raise StoreError("synchronous=FULL could not be set: nothing is committed until it is")
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
            self.soft_commits += soft
        finally:
            if soft:
                self._durable = _durable_again(conn)
        self.ops += len(batch)
        self.largest_batch = max(self.largest_batch, len(batch))
        self.batch_cache.clear()
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
        conn, cache = self._db.conn, self.batch_cache
        cache.clear()
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
            if not getattr(op, "keeps_cache", False):
                cache.clear()  # it may have changed what an op cached
        return outcomes

    def _run_plain(self, batch):
        """A batch of retryable ops (rating inserts: database work only) without
        savepoints, which cost each op a copy of every page it changes. If one
        fails, the transaction so far is undone and None returned: the caller
        runs the batch again with _run_isolated."""
        conn, cache = self._db.conn, self.batch_cache
        cache.clear()
        outcomes = []
        try:
            for op, callback in batch:
                outcomes.append((callback, op(self._db), None))
                if not getattr(op, "keeps_cache", False):
                    cache.clear()
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
