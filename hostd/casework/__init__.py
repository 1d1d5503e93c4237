"""Following a 差评 to its end: work orders, appeals, fraud signals.

workorders.py  work_order  # 差评整改工单: every counted 差评 to rectification
appeals.py     appeal  # 申诉复核: the rated staff member appeals; a supervisor decides
(An order past a deadline is an alert, 超期预警: hostd/alerts/conditions.py.)
fraud.py       刷好评 / 恶意差评 signals: flagged for review, never deleted

Imports: hostd.base, hostd.db, hostd.upstream (the queue) and hostd.rules.
"""
