"""A sandbox in its own process, steered over stdin, so the server and the client measured do not share a GIL.

Its first argument is the contract (``metadata``, the default here: the list served, as most benchmarks
compare against it; or ``documented``). Prints the sandbox's JSON on the first line, then answers each
command with one line:
``seed N [REGISTRATION_ID]`` -> ``ok TOTAL``, ``users N`` -> ``ok ID,ID,...`` (N new named users),
``latency MS``, ``rate N|none``, ``reset`` -> ``ok``.
End of input stops it. Used by ``benchmarks/common.py``; not meant to be run by hand.
"""

from __future__ import annotations

import json
import sys

from learnkit.sandbox import start


def main() -> int:
    """Serve until stdin closes."""
    # The contract to answer by (argv[1]): "metadata" serves the provider's list, "documented" refuses it.
    sandbox = start(contract=sys.argv[1] if len(sys.argv) > 1 else "metadata")
    try:
        print(json.dumps(sandbox.to_json()), flush=True)
        for line in sys.stdin:
            command, *args = line.split()
            if command == "seed":
                total = sandbox.seed_bulk(int(args[0]), *args[1:2])
                print(f"ok {total}", flush=True)
                continue
            if command == "ids":  # the provider's activity ids, as its own system would list them
                print("ok " + ",".join(sandbox.activity_ids(*args[:1])), flush=True)
                continue
            if command == "users":
                print("ok " + ",".join(sandbox.seed_users(int(args[0]))), flush=True)
                continue
            if command == "latency":
                sandbox.set_latency(int(args[0]))
            elif command == "rate":
                sandbox.set_rate_limit(None if args[0] == "none" else int(args[0]))
            elif command == "reset":
                sandbox.reset()
            else:
                print(f"error unknown command {command!r}", flush=True)
                continue
            print("ok", flush=True)
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
