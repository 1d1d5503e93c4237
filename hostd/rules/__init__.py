"""The rules of the regulations (policy.md) that everything else applies.

workdays.py     working days (工作日): chinese-calendar and the admin's overrides
deadlines.py    整改时限: when a 差评 work order must be contacted and done
links.py        signed, expiring rate-later links (the device's QR code)
staff.py        staff (工作人员), windows (窗口) and who is on duty
sessions.py     service sessions (服务会话): one service, one rating
binding.py      which session a rating counts for (一次一评)
attribution.py  谁办理谁负责: the staff member and unit a rating counts for

Imports: hostd.base, hostd.db and hostd.upstream (the queue) only.
"""
