"""Rotated logs: the siblings of one log, compressed or not, named in any order or by a
glob, read as one history in time order."""

import gzip
from pathlib import Path

import zstandard

from helpers import REPO

ACCESS = REPO / "examples" / "nginx" / "access.log"


def split_rotated(tmp_path: Path):
    """Cuts the example log the way logrotate leaves it: .2.gz (oldest), .1.zst, current."""
    lines = ACCESS.read_bytes().splitlines(keepends=True)
    a, b = len(lines) // 3, 2 * len(lines) // 3
    (tmp_path / "access.log.2.gz").write_bytes(gzip.compress(b"".join(lines[:a])))
    (tmp_path / "access.log.1.zst").write_bytes(zstandard.ZstdCompressor().compress(b"".join(lines[a:b])))
    (tmp_path / "access.log").write_bytes(b"".join(lines[b:]))
    return [tmp_path / "access.log", tmp_path / "access.log.1.zst", tmp_path / "access.log.2.gz"]


def essentials(doc):
    return {
        "totals": doc["totals"],
        "window": doc["window"],
        "incidents": [(i["id"], i["start"], i["end"], i["errors"], i["requests"], i["state"],
                       i["diagnosis"]["cause"]) for i in doc["incidents"]],
        "routes": doc["top"]["routes"],
    }


def test_rotated_siblings_in_any_order_equal_the_whole_log(faultline, tmp_path):
    whole, _ = faultline.analyze_json(ACCESS)
    newest_first = split_rotated(tmp_path)
    parts, _ = faultline.analyze_json(*newest_first)
    assert essentials(parts) == essentials(whole)
    assert [i["lines"] for i in parts["inputs"]] and sum(i["lines"] for i in parts["inputs"]) == \
        whole["inputs"][0]["lines"]
    assert {i["format"] for i in parts["inputs"]} == {"nginx"}


def test_a_glob_names_the_siblings(faultline, tmp_path):
    whole, _ = faultline.analyze_json(ACCESS)
    split_rotated(tmp_path)
    doc, _ = faultline.analyze_json(str(tmp_path / "access.log*"))
    assert len(doc["inputs"]) == 3
    assert essentials(doc) == essentials(whole)
