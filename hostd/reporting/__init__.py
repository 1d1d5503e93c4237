"""Statistics, rankings and reports for supervisors (read only).

stats.py    好差评统计: rates, volumes and breakdowns
periods.py  days, weeks, months and quarters in China Standard Time
ranking.py  季度排名: one weighted score
report.py   `hostd report`: the monthly or quarterly report (PDF, Excel)

Imports: the rooms below (base ... devices).
"""
