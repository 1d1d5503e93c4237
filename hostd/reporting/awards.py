"""What the quarterly rankings add up to (000 三; 004 第十九条).

annual()          the annual award (年度“好差评”优胜单位): each subject's four
                  quarterly scores (hostd/reporting/ranking.py) averaged with
                  ranking.quarter_weights; only a subject ranked in every
                  weighted quarter competes, the others are listed after
bottom_streaks()  units in the bottom analysis.bottom_n of the unit ranking
                  for analysis.bottom_quarters quarters running, up to a
                  quarter: the ones 004 第十九条 has reported and followed up
"""

from hostd.base.config import defaults
from hostd.reporting import ranking


def quarters_before(quarter, count):
    """[quarter, the one before, ...] `count` quarters, newest first: "2026Q1" -> "2025Q4"."""
    year, q = quarter.upper().split("Q")
    year, q = int(year), int(q)
    out = []
    for _ in range(count):
        out.append("%04dQ%d" % (year, q))
        year, q = (year - 1, 4) if q == 1 else (year, q - 1)
    return out


def annual(db, year, by="unit", config=None, hall=None):
    """Rows of the year's award, winners first: {key, label, scores [Q1..Q4,
    None where not ranked], ranks, annual (the weighted average), eligible, rank}."""
    config = config or defaults()
    weights = config["ranking"]["quarter_weights"]
    per = {}
    for i in range(4):
        for row in ranking.ranking(db, "%04dQ%d" % (int(year), i + 1), by=by, config=config, hall=hall):
            entry = per.setdefault(
                row["key"],
                {"key": row["key"], "label": row["label"], "scores": [None] * 4, "ranks": [None] * 4},
            )
            entry["scores"][i], entry["ranks"][i] = row["score"], row["rank"]
    rows = []
    for entry in per.values():
        used = [(w, s) for w, s in zip(weights, entry["scores"]) if w and s is not None]
        entry["annual"] = round(sum(w * s for w, s in used) / sum(w for w, _ in used), 2) if used else None
        entry["eligible"] = all(s is not None for w, s in zip(weights, entry["scores"]) if w)
        rows.append(entry)
    rows.sort(key=lambda r: (not r["eligible"], -(r["annual"] or 0), str(r["key"])))
    rank = 0
    for i, row in enumerate(rows):
        if not row["eligible"]:
            row["rank"] = None
            continue
        same = i and rows[i - 1]["eligible"] and rows[i - 1]["annual"] == row["annual"]
        rank = rank if same else i + 1
        row["rank"] = rank
    return rows


def bottom_streaks(db, quarter, config=None, hall=None):
    """Units in the bottom N of the unit ranking in each of the M quarters up
    to `quarter`: [{key, label, places: [(quarter, rank, ranked)] newest first}].
    A quarter with N units or fewer ranked has no bottom (everyone would be in it)."""
    config = config or defaults()
    n, m = config["analysis"]["bottom_n"], config["analysis"]["bottom_quarters"]
    streak = None
    labels, places = {}, {}
    for q in quarters_before(quarter, m):
        rows = ranking.ranking(db, q, by="unit", config=config, hall=hall)
        if len(rows) <= n:
            return []
        bottom = {row["key"] for row in rows[-n:]}
        for row in rows:
            if row["key"] in bottom:
                labels[row["key"]] = row["label"]
                places.setdefault(row["key"], []).append((q, row["rank"], len(rows)))
        streak = bottom if streak is None else streak & bottom
    return [{"key": k, "label": labels[k], "places": places[k]} for k in sorted(streak or (), key=str)]
