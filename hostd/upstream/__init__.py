"""Upstream sync to the provincial 好差评 platform and 12345 forwarding."""
