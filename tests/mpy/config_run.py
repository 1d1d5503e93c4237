# Drive firmware/config.py on a littlefs image and print JSON lines.
#
#   micropython config_run.py IMAGE OPS_FILE
#
# OPS_FILE holds a JSON list [op, arg, op, arg, ...] (the unix-port wheel
# crashes on command-line arguments over 255 bytes). OPs: save JSON |
# raw TEXT (write config.json as is) | tmp TEXT (write config.json.tmp as is)
# | load - | files -
import binascii
import json
import os
import sys

import heap_margin
from blockdev import mount


def main():
    with open(sys.argv[2]) as f:
        args = json.load(f)
    mount(sys.argv[1], "/flash", block_count=64)
    os.chdir("/flash")
    from firmware import config

    for i in range(0, len(args), 2):
        op, arg = args[i], args[i + 1]
        try:
            if op == "save":
                config.save(json.loads(arg))
                print(json.dumps({"saved": True}))
            elif op == "raw" or op == "tmp":
                with open("config.json" + (".tmp" if op == "tmp" else ""), "w") as f:
                    f.write(arg)
                print(json.dumps({op: True}))
            elif op == "load":
                cfg = config.load()
                out = {}
                for name in config.SCHEMA:
                    out[name] = getattr(cfg, name)
                out["key_type"] = type(cfg.key).__name__
                out["key"] = binascii.hexlify(cfg.key).decode()
                print(json.dumps({"config": out}))
            elif op == "files":
                print(json.dumps({"files": sorted(os.listdir())}))
        except config.ConfigError as e:
            print(json.dumps({"error": str(e), "type": "ConfigError"}))
        heap_margin.note()
    heap_margin.report()


main()
