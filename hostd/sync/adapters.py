"""How records travel to the provincial platform: one adapter per province style.

Chosen by upstream.adapter:
  json    hostd's own batched wire, HMAC-SHA256 signed (hostd/sync/own.py),
          for aggregators of our own
  sm      the same in the 国密 envelope (SM2/SM3/SM4)
  epoint  one record per POST, as Epoint's integration (hostd/sync/epoint.py)
Each adapter has
  supports(kind)        whether it has a call for that kind of record
  outgoing(kind, rec)   the fields of a record it posts (hostd's names)
  send(items)           {row_id: wire.Answer} for [(row_id, kind, record)];
                        TransportError when there is no usable answer at all
  query(kind, rec)      what the platform holds under the record's identity
  close()
The province's codes and the adapter's wire settings come from its code
table (hostd/sync/codetable.py).
"""

from hostd.base.errors import ConfigError
from hostd.sync import codetable
from hostd.sync.epoint import EpointAdapter
from hostd.sync.own import JsonHmacAdapter, SmAdapter

NAMES = ("json", "sm", "epoint")


def make_adapter(upstream, secret, table=None):
    """The adapter named by upstream.adapter, set up from its code table."""
    name = upstream.get("adapter", "json")
    url, timeout = upstream["url"], upstream.get("timeout_s", 10)
    table = table or codetable.for_config(upstream)
    if name == "epoint":
        adapter = EpointAdapter(url, table.section("epoint"), timeout, upstream.get("concurrency", 4))
    elif name == "sm":
        adapter = SmAdapter(url, secret, upstream.get("sm2_public_key", ""), timeout)
    elif name == "json":
        adapter = JsonHmacAdapter(url, secret, timeout)
    else:
        raise ConfigError("upstream.adapter = %r is unknown: use one of %s" % (name, ", ".join(NAMES)))
    return adapter
