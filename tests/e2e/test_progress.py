"""The progress bar: drawn on stderr when it is a terminal and the input is long, never
otherwise, and never mixed into the report on stdout."""

import gzip
import json

from test_bad_input import valid_lines

# The bar shows for plain inputs over 64 MiB; a compressed one, whose size is unknown, gets a
# spinner whatever its size.
BIG = 66 * 1024 * 1024


def big_log(path):
    block = b"".join(valid_lines(2000))
    with open(path, "wb") as f:
        written = 0
        while written < BIG:
            f.write(block)
            written += len(block)
    return path


def test_a_long_input_shows_a_bar_on_a_terminal(faultline, tmp_path):
    log = big_log(tmp_path / "big.log")
    rc, out, tty = faultline.run_on_terminal("analyze", "--output", "json", log)
    assert rc == 0, tty[-2000:]
    assert json.loads(out)["totals"]["requests"] > 0, "the report stays whole on stdout"
    assert b"MiB" in tty and b"eta" in tty, tty[-2000:]


def test_no_bar_when_asked_or_when_stderr_is_not_a_terminal(faultline, tmp_path):
    log = big_log(tmp_path / "big.log")
    rc, out, tty = faultline.run_on_terminal("analyze", "--output", "json", "--no-progress", log)
    assert rc == 0
    assert b"eta" not in tty and b"MiB" not in tty, tty[-2000:]
    proc = faultline.run("analyze", "--output", "json", log)
    assert proc.returncode == 0
    assert b"eta" not in proc.stderr and b"\r" not in proc.stderr, proc.stderr[-2000:]


def test_a_short_input_draws_nothing_and_a_compressed_one_a_spinner(faultline, tmp_path):
    small = tmp_path / "small.log"
    small.write_bytes(b"".join(valid_lines(500)))
    rc, _, tty = faultline.run_on_terminal("analyze", "--output", "json", small)
    assert rc == 0
    assert b"eta" not in tty and b"read," not in tty, tty[-2000:]
    packed = tmp_path / "big.log.gz"
    with gzip.open(packed, "wb", compresslevel=1) as f:
        f.write(big_log(tmp_path / "big.log").read_bytes())
    rc, _, tty = faultline.run_on_terminal("analyze", "--output", "json", packed)
    assert rc == 0
    assert b"read," in tty, tty[-2000:]
