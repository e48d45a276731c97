"""Shared fixtures of the end-to-end suite: the faultline binary, the schema, runners."""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers.py, whatever --import-mode

from helpers import REPO, Faultline  # noqa: E402


def pytest_report_header(config):
    return f"faultline binary: {_bin_path()}"


def _bin_path():
    raw = os.environ.get("FAULTLINE_BIN", "target/debug/faultline")
    path = Path(raw)
    if not path.is_absolute():
        path = REPO / path
    return path


@pytest.fixture(scope="session")
def faultline():
    """The faultline binary under test (FAULTLINE_BIN, default target/debug/faultline)."""
    path = _bin_path()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"faultline binary not found at {path}: build it first (`cargo build`, or "
            "`cargo xtask test`, which builds it and sets FAULTLINE_BIN), or point "
            "FAULTLINE_BIN at an executable",
            pytrace=False,
        )
    return Faultline(path)


@pytest.fixture(scope="session")
def report_schema():
    with open(REPO / "schema" / "report-v1.schema.json") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def validate(report_schema):
    """validate(doc): fail with every schema violation listed."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(report_schema)

    def check(doc):
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
                     for e in errors[:20]]
            pytest.fail("report does not match schema/report-v1.schema.json:\n" + "\n".join(lines),
                        pytrace=False)

    return check


@pytest.fixture(scope="session")
def nginx_bin():
    """The nginx binary; CI must have it (the test fails there), elsewhere it may skip."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                      else None)
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("nginx is not installed but CI=true: .ci/run must install it "
                    "(apt-get install -y nginx)", pytrace=False)
    pytest.skip("nginx is not installed (apt-get install -y nginx)")


@pytest.fixture(scope="session")
def apache_bin():
    """Apache httpd (Debian: apache2); CI must have it (the test fails there), elsewhere it
    may skip."""
    found = shutil.which("apache2") or shutil.which("httpd")
    for candidate in ("/usr/sbin/apache2", "/usr/sbin/httpd"):
        if not found and os.access(candidate, os.X_OK):
            found = candidate
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Apache httpd is not installed but CI=true: .ci/run must install it "
                    "(apt-get install -y apache2)", pytrace=False)
    pytest.skip("Apache httpd is not installed (apt-get install -y apache2)")
