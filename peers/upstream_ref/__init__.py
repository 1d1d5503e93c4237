"""A reference provincial 好差评 platform and a fake 12345 hotline: a test peer
for hostd's upstream sync, not part of the product. See platform.py for the
rules it enforces and server.py for the HTTP side and its failure modes."""
