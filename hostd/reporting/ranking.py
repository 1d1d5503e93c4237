"""季度排名: units, windows, staff and items ranked by one weighted score.

score = 100 * sum(w_i * c_i) / sum(w_i) over the components
  good     好评率
  bad      1 - 差评率
  active   主动评价率 (left out, with its weight, where there were no sessions)
  rectify  差评整改率 (1.0 where there was no 差评 to rectify)
  volume   数据归集量 (000 三): the subject's counted ratings over the most
           any ranked subject of the same kind had that quarter
with the weights of hostd.toml [ranking] (weight_good, weight_bad,
weight_active, weight_rectify, weight_volume). Only counted ratings enter (excluded ones
do not); a subject needs ranking.min_ratings ratings in the quarter.
Ties share a rank (1, 2, 2, 4), ordered by volume then key.
"""

from hostd.base.config import defaults
from hostd.reporting import periods, stats

SUBJECTS = ("unit", "window", "staff", "item")


def weights(config=None):
    section = (config or defaults())["ranking"]
    return {
        "good": section["weight_good"],
        "bad": section["weight_bad"],
        "active": section["weight_active"],
        "rectify": section["weight_rectify"],
        "volume": section["weight_volume"],
    }


def score(row, w):
    """The 0..100 score of one stats row under weights `w`; None when nothing counts."""
    parts = {
        "good": row["good_rate"],
        "bad": None if row["bad_rate"] is None else 1.0 - row["bad_rate"],
        "active": row["active_rate"],
        "rectify": row["rectify_rate"] if row["bad_orders"] else 1.0,
        "volume": row.get("volume_share"),
    }
    used = [(w[k], v) for k, v in parts.items() if v is not None and w[k]]
    total = sum(weight for weight, _ in used)
    if not total or row["total"] == 0:
        return None
    return round(100.0 * sum(weight * v for weight, v in used) / total, 2)


def unranked(db, quarter, by="staff", config=None, hall=None):
    """Rows with ratings in the quarter but fewer than ranking.min_ratings: not ranked, and said so."""
    config = config or defaults()
    least = max(config["ranking"]["min_ratings"], 1)
    start, end = periods.period(quarter)
    return [
        row
        for row in stats.breakdown(db, by, start, end, hall=hall)
        if row["key"] is not None and row["total"] < least
    ]


def ranking(db, quarter, by="staff", config=None, hall=None):
    """Rows of one quarter ("2026Q4"), best first, each with rank and score."""
    if by not in SUBJECTS:
        raise ValueError("rank one of %s" % ", ".join(SUBJECTS))
    config = config or defaults()
    w = weights(config)
    least = config["ranking"]["min_ratings"]
    start, end = periods.period(quarter)
    rows = [
        row
        for row in stats.breakdown(db, by, start, end, hall=hall)
        if row["key"] is not None and row["total"] >= max(least, 1)
    ]
    most = max((row["total"] for row in rows), default=0)
    for row in rows:
        row["volume_share"] = round(row["total"] / most, 4) if most else None
        row["score"] = score(row, w)
    rows.sort(key=lambda r: (-r["score"], -r["total"], str(r["key"])))
    for i, row in enumerate(rows):
        same = i and rows[i - 1]["score"] == row["score"]
        row["rank"] = rows[i - 1]["rank"] if same else i + 1
    return rows
