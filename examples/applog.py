#!/usr/bin/env python3
"""Merge the application logs of the example backends into one file, in time order.

    applog.py OUT IN...

Each backend writes its own log (Python `logging`); a record is a line that starts with
its time (`2026-11-25 01:02:03,456 +0000 ...`) plus the lines that follow it up to the
next such line (a traceback). Records are sorted by time, stably (a backend's records of
the same millisecond keep their order), and each is written whole.

Standard library only.
"""

import re
import sys

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
            f.write(text)


if __name__ == "__main__":
    main()
