#!/usr/bin/env python3
"""Rewrites a loggen `extended` nginx access log as the same requests in Apache's LogFormat
and as nginx `escape=json` JSON lines, so the three parsers are measured on one content.

    bench/convert.py access.log   # writes access.log.apache and access.log.json
"""

import json
import re
import sys

LINE = re.compile(
    r'^(?P<ip>\S+) - (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<req>[^"]*)" (?P<status>\d{3}) '
    r'(?P<bytes>\d+) "(?P<ref>[^"]*)" "(?P<ua>[^"]*)" (?P<rt>\S+) (?P<urt>.+?) '
    r'(?P<addr>\S+(?:, \S+)*) (?P<ust>\S+(?:, \S+)*) "(?P<host>[^"]*)"$'
)

APACHE_FORMAT = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D "%{BALANCER_WORKER_NAME}e" "%{Host}i"'


def main(path):
    with open(path, encoding="latin-1") as src, \
            open(path + ".apache", "w", encoding="latin-1") as ap, \
            open(path + ".json", "w", encoding="latin-1") as js:
        for raw in src:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            g = m.groupdict()
            d_us = int(round(float(g["rt"]) * 1e6))
            last = g["addr"].split(", ")[-1]
            worker = "-" if last == "-" else "http://" + last
            size = "-" if g["bytes"] == "0" else g["bytes"]
            ap.write(f'{g["ip"]} - {g["user"]} [{g["time"]}] "{g["req"]}" {g["status"]} {size} '
                     f'"{g["ref"]}" "{g["ua"]}" {d_us} "{worker}" "{g["host"]}"\n')
            doc = {
                "time_local": g["time"], "remote_addr": g["ip"], "remote_user": g["user"],
                "request": g["req"], "status": g["status"], "body_bytes_sent": g["bytes"],
                "http_referer": g["ref"], "http_user_agent": g["ua"], "request_time": g["rt"],
                "upstream_response_time": g["urt"], "upstream_addr": g["addr"],
                "upstream_status": g["ust"], "host": g["host"],
            }
            js.write(json.dumps(doc, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
