"""Test peers: stand-ins for the external platforms hostd talks to, which
cannot run here. Not part of the product; they enforce the platforms' real
rules, or their tests prove nothing.

upstream_ref/  the reference provincial 好差评 platform and a fake 12345
               hotline (`python -m peers.upstream_ref`)
sms_ref/       a reference SMS platform (SendSms: signature, templates,
               per-number limits)
"""
