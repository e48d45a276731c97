"""The terminal report on a real terminal: colour there and only there, `NO_COLOR` honoured,
and log text never able to drive the terminal, even with colour on."""

import re

from helpers import EXAMPLES
from test_bad_input import valid_lines

LOGS = [EXAMPLES / "access.log", EXAMPLES / "error.log", EXAMPLES / "app.log"]
SGR = re.compile(rb"\x1b\[[0-9;]*m")


def test_colour_on_a_terminal_unless_no_color(faultline):
    rc, _, tty = faultline.run_on_terminal("analyze", *LOGS, stream="stdout")
    assert rc == 0
    assert SGR.search(tty), "no colour on a terminal"
    rc, _, tty = faultline.run_on_terminal("analyze", *LOGS, stream="stdout",
                                           env={"NO_COLOR": "1"})
    assert rc == 0
    assert b"\x1b" not in tty, "colour despite NO_COLOR"


def test_log_text_cannot_drive_a_coloured_terminal(faultline, tmp_path):
    lines = valid_lines(300)
    hostile = []
    for i in range(60):
        # 5xx bursts whose path and user agent carry a title-setting OSC, a bell and SGR codes.
        hostile.append(
            f'203.0.113.7 - - [14/May/2024:10:05:{i % 60:02d} +0200] '
            f'"GET /api/\x1b]0;pwned\x07/x\x1b[31m HTTP/1.1" 502 0 "-" "evil\x1b[2J\x1b[H" '
            f'0.000 0.000 10.1.0.9:8080 502 "api.example.test"\n'.encode())
    log = tmp_path / "hostile.log"
    log.write_bytes(b"".join(lines[:300] + hostile))
    rc, _, tty = faultline.run_on_terminal("analyze", log, stream="stdout")
    assert rc == 0, tty[-2000:]
    assert SGR.search(tty), "no colour on a terminal"
    rest = SGR.sub(b"", tty)
    assert b"\x1b" not in rest and b"\x07" not in rest, rest[-2000:]
    assert b"10.1.0.9:8080" in rest, "the hostile upstream's incident is reported"
