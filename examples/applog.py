#!/usr/bin/env python3
"""Merge the application logs of the example backends into one file, in time order.

    applog.py OUT IN...

Each backend writes its own log (Python `logging`); a record is a line that starts with
its time (`2026-11-25 01:02:03,456 +0000 ...`) plus the lines that follow it up to the
next such line (a traceback). Records are sorted by time, stably (a backend's records of
the same millisecond keep their order), and each is written whole.

Paths in tracebacks are rewritten to where such an application would live on a server
(`/srv/shop/` for the backend's directory, `/usr/lib/python3/dist-packages/` for installed
packages), so the logs do not depend on the machine that wrote them.

Standard library only.
"""

import os
import re
import site
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))


def path_rewrites():
    """(prefix, replacement) pairs, longest prefix first."""
    pairs = [(os.path.join(HERE, "nginx") + "/", "/srv/shop/")]
    packages = set(site.getsitepackages()) | {sysconfig.get_paths()["purelib"],
                                                sysconfig.get_paths()["platlib"]}
    pairs += [(p.rstrip("/") + "/", "/usr/lib/python3/dist-packages/") for p in packages]
    pairs.append((sysconfig.get_paths()["stdlib"].rstrip("/") + "/", "/usr/lib/python3/"))
    pairs.sort(key=lambda p: -len(p[0]))
    return [(a.encode(), b.encode()) for a, b in pairs]


REWRITES = path_rewrites()


def rewrite(text):
    for old, new in REWRITES:
        text = text.replace(old, new)
    return text

RECORD_START = re.compile(rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \+0000 ")


def records(path):
    out = []
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                line += b"\n"
            m = RECORD_START.match(line)
            if m:
                out.append([m.group(1), line])
            elif out:
                out[-1][1] += line
            else:
                sys.exit(f"applog.py: {path} does not start with a timestamped record")
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip())
    out, inputs = sys.argv[1], sys.argv[2:]
    merged = []
    for n, path in enumerate(inputs):
        merged.extend((t, n, i, text) for i, (t, text) in enumerate(records(path)))
    merged.sort(key=lambda r: r[:3])
    with open(out, "wb") as f:
        for *_, text in merged:
            f.write(rewrite(text))


if __name__ == "__main__":
    main()
