"""Files people upload: paper-form scans, and the evidence of work orders and appeals.

uploads.py   checked by content (JPEG, PNG or PDF, parsed, never trusted by
             name), capped at web.upload_max_kb, stored once by their
             SHA-256 in hostd.db's uploads table (backed up with it)

Imports: base and db only.
"""
