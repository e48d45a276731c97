"""Inputs a user will eventually feed it: junk, missing files, empty files, stdin, compression."""

import gzip
import json
import random
import shutil
import subprocess

import pytest

from helpers import EXAMPLES, count_statuses, describe, input_named

STATUSES = ["200"] * 14 + ["404", "301", "500", "502"]


def valid_lines(n, seed=7):
    """n lines of nginx's `extended` format, one per second from 2024-05-14 10:00:00 +0200."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        status = rng.choice(STATUSES)
        upstream = "-" if status == "301" else f"10.1.0.{rng.randint(1, 2)}:8080"
        up_status = "-" if status == "301" else status
        up_time = "-" if status == "301" else f"{rng.uniform(0.001, 0.2):.3f}"
        minute, second = divmod(i, 60)
        out.append(
            f'203.0.113.{rng.randint(1, 254)} - - [14/May/2024:10:{minute:02d}:{second:02d} +0200] '
            f'"GET /api/items/{rng.randint(1, 9999)} HTTP/1.1" {status} {rng.randint(0, 5000)} '
            f'"-" "curl/8.5.0" {up_time} {up_time} {upstream} {up_status} "api.example.test"\n'
            .encode())
    return out


def junk_lines():
    rng = random.Random(3)
    binary = bytes(b for b in rng.randbytes(300) if b not in (0x0A, 0x0D))
    return [
        b"\x00" * 64 + b"\n",                                    # NULs
        binary + b"\n",                                          # random binary
        b"\xff\xfe\xfd not utf-8 \xc3\x28 \xe2\x82 at all\n",    # invalid UTF-8
        b"GET /" + b"a" * (100 * 1024) + b" HTTP/1.1\n",         # a 100 KiB line
        b"this is not an access log line\n",
    ]


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.log"
    lines = valid_lines(120)
    path.write_bytes(b"".join(lines))
    return path, lines


def test_junk_is_counted_not_fatal(faultline, tmp_path, validate):
    valid = valid_lines(200)
    junk = junk_lines()
    # Valid lines first (so the format is detected), then junk spread between valid lines.
    lines, junk_at = valid[:60], []
    rest = valid[60:]
    step = len(rest) // len(junk)
    for k, j in enumerate(junk):
        lines.extend(rest[k * step:(k + 1) * step])
        lines.append(j)
        junk_at.append(len(lines))                               # 1-based line number
    lines.extend(rest[len(junk) * step:])
    path = tmp_path / "mixed.log"
    path.write_bytes(b"".join(lines))

    doc, _ = faultline.analyze_json(path)
    validate(doc)
    inp = input_named(doc, "mixed.log")
    assert inp["kind"] == "access"
    assert inp["lines"] == len(lines)
    assert inp["parsed"] == len(valid)
    assert inp["malformed"] == len(junk)
    samples = inp["malformed_samples"]
    assert samples, "malformed lines should come with samples"
    assert {s["line"] for s in samples} <= set(junk_at), (samples, junk_at)
    assert all(len(s["text"]) < 10_000 for s in samples), "samples should be truncated"
    assert doc["totals"]["requests"] == len(valid)
    assert doc["totals"]["by_status"] == count_statuses(b"".join(valid))


def test_missing_file_next_to_a_good_one(faultline, good, tmp_path, validate):
    path, lines = good
    missing = tmp_path / "nope.log"
    doc, _ = faultline.analyze_json(path, missing)
    validate(doc)
    gone = input_named(doc, "nope.log")
    assert gone["kind"] == "unknown"
    assert gone["format"] is None
    assert gone.get("error"), gone
    assert doc["totals"]["requests"] == len(lines)


def test_only_a_missing_file_is_exit_2(faultline, tmp_path):
    missing = tmp_path / "nope.log"
    proc = faultline.run("analyze", "--output", "json", missing)
    assert proc.returncode == 2, describe(proc, "expected exit 2")
    err = proc.stderr.decode(errors="replace")
    assert "nope.log" in err, err
    assert "--log-format" in err, err


def test_fail_on_incident_does_not_hide_exit_2(faultline, tmp_path):
    proc = faultline.run("analyze", "--fail-on", "incident", tmp_path / "nope.log")
    assert proc.returncode == 2, describe(proc, "2 wins over 1")


def test_empty_file_next_to_a_good_one(faultline, good, tmp_path, validate):
    path, lines = good
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    doc, _ = faultline.analyze_json(path, empty)
    validate(doc)
    assert input_named(doc, "empty.log")["lines"] == 0
    assert doc["totals"]["requests"] == len(lines)


def test_empty_file_alone(faultline, tmp_path, validate):
    # An empty log is readable but holds nothing: either a valid, empty report or exit 2
    # with a reason; never a crash.
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    proc = faultline.run("analyze", "--output", "json", empty)
    assert proc.returncode in (0, 2), describe(proc, "expected 0 or 2")
    if proc.returncode == 0:
        doc = json.loads(proc.stdout)
        validate(doc)
        assert doc["totals"]["requests"] == 0
        assert doc["incidents"] == []
    else:
        assert proc.stderr.strip(), describe(proc, "exit 2 needs a reason on stderr")


def test_stdin(faultline, good):
    path, lines = good
    from_file, _ = faultline.analyze_json(path)
    from_stdin, _ = faultline.analyze_json("-", stdin=b"".join(lines))
    assert from_stdin["totals"] == from_file["totals"]
    assert len(from_stdin["inputs"]) == 1


def test_glob_is_expanded(faultline, tmp_path):
    a, b = valid_lines(50, seed=1), valid_lines(70, seed=2)
    (tmp_path / "access-1.log").write_bytes(b"".join(a))
    (tmp_path / "access-2.log").write_bytes(b"".join(b))
    doc, _ = faultline.analyze_json(str(tmp_path / "access-*.log"))
    assert sorted(i["path"].rsplit("/", 1)[-1] for i in doc["inputs"]) == [
        "access-1.log", "access-2.log"]
    assert doc["totals"]["requests"] == 120


def _zstd(src, dst):
    try:
        import zstandard
    except ImportError:
        zstandard = None
    if zstandard is not None:
        dst.write_bytes(zstandard.ZstdCompressor(level=3).compress(src.read_bytes()))
    elif shutil.which("zstd"):
        subprocess.run(["zstd", "-q", "-f", str(src), "-o", str(dst)], check=True)
    else:
        pytest.fail("neither python zstandard nor the zstd CLI is installed "
                    "(pip install -r tests/e2e/requirements.txt)")


def test_compressed_inputs_give_the_same_report(faultline, tmp_path):
    access, error = EXAMPLES / "access.log", EXAMPLES / "error.log"
    plain, _ = faultline.analyze_json(access, error)
    for ext in ("gz", "zst"):
        c_access = tmp_path / f"access.log.{ext}"
        c_error = tmp_path / f"error.log.{ext}"
        for src, dst in ((access, c_access), (error, c_error)):
            if ext == "gz":
                dst.write_bytes(gzip.compress(src.read_bytes()))
            else:
                _zstd(src, dst)
        doc, _ = faultline.analyze_json(c_access, c_error)
        assert doc["totals"] == plain["totals"], ext
        assert [i["id"] for i in doc["incidents"]] == [i["id"] for i in plain["incidents"]], ext
        assert [i["diagnosis"]["cause"] for i in doc["incidents"]] == [
            i["diagnosis"]["cause"] for i in plain["incidents"]], ext
        assert (input_named(doc, f"access.log.{ext}")["lines"]
                == input_named(plain, "access.log")["lines"]), ext


def test_concatenated_gzip_members(faultline, tmp_path):
    # logrotate + cat, or `gzip -c a >> b.gz`: a .gz of several members is one stream.
    lines = valid_lines(90)
    path = tmp_path / "multi.log.gz"
    path.write_bytes(gzip.compress(b"".join(lines[:40])) + gzip.compress(b"".join(lines[40:])))
    doc, _ = faultline.analyze_json(path)
    assert doc["totals"]["requests"] == 90


def test_last_line_without_newline(faultline, tmp_path):
    lines = valid_lines(30)
    path = tmp_path / "partial.log"
    path.write_bytes(b"".join(lines).rstrip(b"\n"))
    doc, _ = faultline.analyze_json(path)
    assert doc["totals"]["requests"] == 30
