"""Fraud signals (刷好评 / 恶意差评, policy.md "Integrity"): flag for review, never delete.

scan() reads one period and returns flags; record() keeps them in fraud_flags
for a supervisor, who confirms or dismisses each (hostd/casework/fraud_review.py:
a confirmed flag excludes the ratings the supervisor picks). Nothing here
changes a rating.

Signals and their statistics:
  burst        one device took >= burst_count presses within burst_seconds,
               by the device's own press time (clock-synced ratings only, so
               a backlog sent after an outage is not a burst)
  no_session   one device sent >= no_session_count ratings with no service
               session behind them (binding 'window')
  offline_burst  one device took >= offline_burst_count ratings with no session
               (its offline ratings) within offline_burst_seconds. A device
               takes at most one per device.offline_interval_s (60 s), so
               this is someone at the window pressing as often as it lets
               them while the network is down, not citizens
  top_share    a staff member's share of 非常满意 is far above the pooled
               share of all other staff in the hall: one-sided two-proportion
               z-test, z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)) with p the
               pooled share; flagged when z >= z_threshold (3.0: p < 0.0013),
               n1 >= min_ratings and p1 - p2 >= min_gap
  same_source  one rate-later link (session) rated >= link_count times, or one
               client address rating >= addr_count times in one day
"""

import json
import math

from hostd.base import clock, hall_time

KINDS = {
    "burst": "同一设备短时间连续评价",
    "no_session": "无服务记录的评价",
    "offline_burst": "离线期间连续评价",
    "top_share": "非常满意占比远高于同行",
    "same_source": "同一链接/地址多次评价",
}
DEFAULTS = {
    "burst_count": 4,
    "burst_seconds": 60,
    "no_session_count": 3,
    "offline_burst_count": 5,
    "offline_burst_seconds": 600,
    "z_threshold": 3.0,
    "min_ratings": 30,
    "min_gap": 0.1,
    "link_count": 2,
    "addr_count": 5,
    "max_ids": 50,
}
COUNTED = "binding IN ('session', 'window') AND excluded IS NULL"
TZ = hall_time.OFFSET  # the hall's time (hostd/base/hall_time.py)


def _flag(kind, subject, start, end, statistic, evidence):
    return {
        "kind": kind,
        "kind_label": KINDS[kind],
        "subject": subject,
        "period_start": start,
        "period_end": end,
        "statistic": statistic,
        "evidence": evidence,
        "state": "open",
    }


def scan(db, start, end, hall=None, **thresholds):
    """Every flag of [start, end); thresholds override DEFAULTS."""
    unknown = set(thresholds) - set(DEFAULTS)
    if unknown:
        raise ValueError("unknown thresholds: %s" % ", ".join(sorted(unknown)))
    t = dict(DEFAULTS, **thresholds)
    args = {"start": int(start), "end": int(end), "hall": hall}
    where = "received_at >= :start AND received_at < :end AND (:hall IS NULL OR hall = :hall)"
    return (
        bursts(db, where, args, t)
        + bursts(db, where, args, t, offline=True)
        + no_session(db, where, args, t)
        + top_share(db, where, args, t)
        + same_source(db, where, args, t)
    )


def bursts(db, where, args, t, offline=False):
    """Presses close together on one device: every rating ("burst"), or
    only those taken with no session while offline ("offline_burst")."""
    kind = "offline_burst" if offline else "burst"
    count, seconds = t[kind + "_count"], int(t[kind + "_seconds"])
    rows = db.execute(
        "SELECT device_id, id, device_time, COUNT(*) OVER (PARTITION BY device_id"
        " ORDER BY device_time RANGE BETWEEN CURRENT ROW AND %d FOLLOWING) AS n"
        " FROM ratings WHERE channel = 'device' AND clock_synced = 1 AND %s%s"
        " ORDER BY device_id, device_time"
        % (seconds - 1, where, " AND binding = 'window'" if offline else ""),
        args,
    ).fetchall()
    by_device = {}
    for device_id, rating_id, at, n in rows:
        by_device.setdefault(device_id, []).append((at, rating_id, n))
    flags = []
    for device_id, presses in by_device.items():
        biggest = max(presses, key=lambda p: p[2])
        if biggest[2] < count:
            continue
        first = biggest[0]
        ids = [rid for at, rid, _ in presses if first <= at < first + seconds]
        starts = sum(1 for at, rid, n in presses if n >= count)
        flags.append(
            _flag(
                kind,
                device_id,
                args["start"],
                args["end"],
                "%s%d 秒内按键 %d 次（阈值 %d 次），共 %d 个时间点达到阈值"
                % ("离线期间（无服务记录）" if offline else "", seconds, biggest[2], count, starts),
                {
                    "device_id": device_id,
                    "most_in_window": biggest[2],
                    "window_seconds": seconds,
                    "first_at": first,
                    "rating_ids": ids[: t["max_ids"]],
                },
            )
        )
    return flags


def no_session(db, where, args, t):
    flags = []
    rows = db.execute(
        "SELECT device_id, SUM(binding = 'window'), COUNT(*), SUM(binding = 'window' AND level = 5),"
        " SUM(binding = 'window' AND level <= 2), group_concat(CASE WHEN binding = 'window'"
        " THEN id END) FROM ratings WHERE channel = 'device' AND %s GROUP BY device_id" % where,
        args,
    ).fetchall()
    for device_id, unbound, total, top, bad, ids in rows:
        if (unbound or 0) < t["no_session_count"]:
            continue
        flags.append(
            _flag(
                "no_session",
                device_id,
                args["start"],
                args["end"],
                "无服务记录的评价 %d 条，占该设备评价 %.1f%%（阈值 %d 条）"
                % (unbound, 100.0 * unbound / total, t["no_session_count"]),
                {
                    "device_id": device_id,
                    "without_session": unbound,
                    "all": total,
                    "very_satisfied": top,
                    "bad": bad,
                    "rating_ids": [int(i) for i in ids.split(",")][: t["max_ids"]],
                },
            )
        )
    return flags


def z_two_proportions(k1, n1, k2, n2):
    """One-sided two-proportion z statistic of k1/n1 above k2/n2 (pooled variance)."""
    if not n1 or not n2:
        return None
    pooled = (k1 + k2) / float(n1 + n2)
    if pooled in (0.0, 1.0):
        return 0.0
    return (k1 / float(n1) - k2 / float(n2)) / math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))


def top_share(db, where, args, t):
    rows = db.execute(
        "SELECT staff_id, COUNT(*), SUM(level = 5) FROM ratings WHERE staff_id IS NOT NULL"
        " AND %s AND %s GROUP BY staff_id" % (COUNTED, where),
        args,
    ).fetchall()
    all_n = sum(r[1] for r in rows)
    all_k = sum(r[2] for r in rows)
    flags = []
    for staff_id, n, k in rows:
        peer_n, peer_k = all_n - n, all_k - k
        if n < t["min_ratings"] or peer_n < t["min_ratings"]:
            continue
        z = z_two_proportions(k, n, peer_k, peer_n)
        share, peer_share = k / float(n), peer_k / float(peer_n)
        if z is None or z < t["z_threshold"] or share - peer_share < t["min_gap"]:
            continue
        flags.append(
            _flag(
                "top_share",
                staff_id,
                args["start"],
                args["end"],
                "两比例z检验：非常满意占比 %.1f%%（%d/%d），同行合并占比 %.1f%%（%d/%d），"
                "z = %.2f ≥ %.1f"
                % (100 * share, k, n, 100 * peer_share, peer_k, peer_n, z, t["z_threshold"]),
                {
                    "staff_id": staff_id,
                    "n": n,
                    "very_satisfied": k,
                    "share": round(share, 4),
                    "peer_n": peer_n,
                    "peer_very_satisfied": peer_k,
                    "peer_share": round(peer_share, 4),
                    "z": round(z, 2),
                    "z_threshold": t["z_threshold"],
                },
            )
        )
    return flags


def same_source(db, where, args, t):
    flags = []
    for session_id, n, ids in db.execute(
        "SELECT session_id, COUNT(*), group_concat(id) FROM ratings WHERE channel = 'qr'"
        " AND session_id IS NOT NULL AND %s GROUP BY session_id HAVING COUNT(*) >= %d"
        % (where, int(t["link_count"])),
        args,
    ).fetchall():
        flags.append(
            _flag(
                "same_source",
                "link:%s" % session_id,
                args["start"],
                args["end"],
                "同一评价链接提交 %d 次（阈值 %d 次）" % (n, t["link_count"]),
                {
                    "session_id": session_id,
                    "count": n,
                    "rating_ids": [int(i) for i in ids.split(",")][: t["max_ids"]],
                },
            )
        )
    for addr, day, n, sessions, ids in db.execute(
        "SELECT client_addr, (received_at + %d) / 86400 AS day, COUNT(*),"
        " COUNT(DISTINCT session_id), group_concat(id) FROM ratings"
        " WHERE client_addr IS NOT NULL AND %s GROUP BY client_addr, day HAVING COUNT(*) >= %d"
        % (TZ, where, int(t["addr_count"])),
        args,
    ).fetchall():
        day_start = day * 86400 - TZ
        flags.append(
            _flag(
                "same_source",
                "addr:%s" % addr,
                day_start,
                day_start + 86400,
                "同一地址一天内评价 %d 次，涉及 %d 个服务（阈值 %d 次）" % (n, sessions, t["addr_count"]),
                {
                    "client_addr": addr,
                    "count": n,
                    "sessions": sessions,
                    "rating_ids": [int(i) for i in ids.split(",")][: t["max_ids"]],
                },
            )
        )
    return flags


def record(db, flags, now=None):
    """Keep flags for review; a flag seen again (same kind, subject, period
    start) refreshes its evidence while open. Returns how many are new."""
    now = int(clock.now()) if now is None else int(now)
    new = 0
    for f in flags:
        cur = db.conn.execute(
            "INSERT INTO fraud_flags (kind, subject, period_start, period_end, statistic,"
            " evidence, found_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, subject,"
            " period_start) DO NOTHING",
            (
                f["kind"],
                f["subject"],
                f["period_start"],
                f["period_end"],
                f["statistic"],
                json.dumps(f["evidence"], ensure_ascii=False),
                now,
            ),
        )
        if cur.rowcount:
            new += 1
        else:
            db.conn.execute(
                "UPDATE fraud_flags SET period_end = ?, statistic = ?, evidence = ?"
                " WHERE kind = ? AND subject = ? AND period_start = ? AND state = 'open'",
                (
                    f["period_end"],
                    f["statistic"],
                    json.dumps(f["evidence"], ensure_ascii=False),
                    f["kind"],
                    f["subject"],
                    f["period_start"],
                ),
            )
    return new


def dress(row):
    row = dict(row)
    row["evidence"] = json.loads(row["evidence"])
    row["kind_label"] = KINDS.get(row["kind"], row["kind"])
    return row


def list_flags(db, state: str | None = "open", limit=200):
    sql = "SELECT * FROM fraud_flags"
    params: dict[str, object] = {"limit": int(limit)}
    if state:
        sql += " WHERE state = :state"
        params["state"] = state
    return [dress(r) for r in db.query(sql + " ORDER BY found_at DESC, flag_id DESC LIMIT :limit", params)]
