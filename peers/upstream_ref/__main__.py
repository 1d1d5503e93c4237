"""`python -m peers.upstream_ref --port 8090 --db ref.db --secret-file secret`

Runs the reference provincial platform and fake 12345 until interrupted.
Prints one line "upstream_ref listening on http://host:port" when ready, and,
with --sm2-key-file, the platform's SM2 public key for upstream.sm2_public_key.
"""

import argparse
import json
import os
import signal
import sys
import threading

from hostd.sync import sealing
from peers.upstream_ref.server import RefPlatform


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m peers.upstream_ref", description="Reference 好差评 platform + fake 12345 (test peer)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--db", default="upstream_ref.db", help="its own SQLite file")
    parser.add_argument("--secret-file", required=True, help="the shared HMAC secret (same as hostd's)")
    parser.add_argument("--sm2-key-file", help="JSON {private, public}; made if missing")
    args = parser.parse_args(argv)
    try:
        with open(args.secret_file, "rb") as f:
            secret = f.read().strip()
    except OSError as exc:
        print(
            "upstream_ref: cannot read --secret-file %s (%s)" % (args.secret_file, exc.strerror),
            file=sys.stderr,
        )
        return 2
    keys = None
    if args.sm2_key_file:
        if not os.path.exists(args.sm2_key_file):
            private, public = sealing.sm2_keypair()
            with open(args.sm2_key_file, "w") as f:
                json.dump({"private": private, "public": public}, f)
        with open(args.sm2_key_file) as f:
            data = json.load(f)
        keys = (data["private"], data["public"])
    try:
        ref = RefPlatform(args.db, secret, args.port, args.host, keys).start()
    except OSError as exc:
        print(
            "upstream_ref: cannot listen on %s:%d (%s): is another program using it?"
            % (args.host, args.port, exc.strerror),
            file=sys.stderr,
        )
        return 1
    print("upstream_ref listening on %s" % ref.url, flush=True)
    if keys:
        print("sm2 public key %s" % keys[1], flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    ref.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
