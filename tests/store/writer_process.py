"""Child process for the crash and multi-process tests (run as a script, not collected).

usage: writer_process.py URL SPEC_JSON MODE [ARG]
  ingest          insert documents one by one forever, printing each sid once committed
                  (on SQLite, also drain the search index every 25 rows)
  increment SID N increment attempt of SID N times, then print "done"
"""

from __future__ import annotations

import sys

from osis.store import CollectionSpec, open_engine
from osis.store.sqlite import SqliteEngine


def main() -> None:
    url, spec_json, mode = sys.argv[1:4]
    spec = CollectionSpec.from_json(spec_json)
    engine = open_engine(url)
    engine.open([spec])
    if mode == "ingest":
        i = 0
        while True:
            doc = engine.insert(spec.name, {"arguments": f"crash-row {i} marker", "attempt": i % 7, "user_sid": "u1"})
            print(doc["sid"], flush=True)  # only after the commit returned: an acknowledged write
            i += 1
            if isinstance(engine, SqliteEngine) and i % 25 == 0:
                engine.index_search()
    elif mode == "increment":
        sid, times = sys.argv[4], int(sys.argv[5])
        for _ in range(times):
            engine.increment(spec.name, sid, "attempt")
        print("done", flush=True)
        engine.close()
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
