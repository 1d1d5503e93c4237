"""SMS reminders (短信提醒评价): the rate-later link, sent once to a citizen who gave
a phone number with consent and did not rate at the window.

rpc_sign.py    the request signature of the common Chinese SMS APIs' RPC style
               (sorted, percent-encoded parameters, HMAC-SHA1)
gateway.py     the pluggable gateway: one adapter in the shape those APIs share
               (signature name, template code, template parameters), and the
               refusals it may answer, sorted into retry / never retry
reminders.py   what is due, the per-number limits kept on our side, the
               short link code, one reminder at most
sender.py      the job `hostd run` repeats: sends what is due

Imports: base, db, rules, recording.
"""
