"""The JSON API of the real `faultline serve`, fed with the bundled example logs, against
its own description: every documented GET answers a body that `docs/openapi.json`'s schema
accepts (its `$ref`s resolved within the document), every documented query parameter is
accepted, errors have the documented shape, incidents filter by host, route and upstream,
report, series and top narrow to one key and agree with each other and with the log, and
the error groups are those `faultline analyze` finds in the same logs."""

import collections
import json
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from helpers import EXAMPLES, REPO, ts
from test_serve import Daemon, config

OPENAPI = json.loads((REPO / "docs" / "openapi.json").read_text())
DOC_URI = "urn:faultline:openapi"


@pytest.fixture(scope="module")
def api(faultline, tmp_path_factory):
    """One daemon over copies of the example logs, every line counted and every incident
    resolved, for the whole module."""
    tmp = tmp_path_factory.mktemp("api")
    for name in ("access.log", "error.log", "app.log"):
        (tmp / name).write_bytes((EXAMPLES / name).read_bytes())
    cfg, port = config(tmp, [([str(tmp / "access.log")], None),
                             ([str(tmp / "error.log")], "error"),
                             ([str(tmp / "app.log")], None)])
    d = Daemon(faultline, cfg, port)
    try:
        d.wait_ready()
        lines = len((EXAMPLES / "access.log").read_bytes().splitlines())
        d.wait_for("every line counted", lambda: d.totals()["requests"] == lines)
        d.wait_for("every incident resolved", lambda: (lambda inc: inc and all(
            i["state"] == "resolved" for i in inc))(d.get("/api/v1/incidents")["incidents"]))
        yield d
    finally:
        d.proc.kill()
        d.proc.wait()


def fetch(d, path, method="GET", headers=None):
    """(status, headers, body) of one request; a live stream is read up to its first event."""
    req = urllib.request.Request(f"http://127.0.0.1:{d.port}{path}", method=method,
                                 headers=headers or {})
    try:
        r = urllib.request.urlopen(req, timeout=5)
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    with r:
        if r.headers.get("content-type", "").startswith("text/event-stream"):
            body = b""
            while b"\n\n" not in body:
                line = r.readline()
                assert line, f"GET {path}: the stream ended before its first event"
                body += line
            return r.status, r.headers, body
        return r.status, r.headers, r.read()


def validator_for(pointer):
    """A validator of the schema at `pointer` in docs/openapi.json, its $refs resolved in the
    document."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource(DOC_URI, Resource(contents=OPENAPI,
                                                          specification=DRAFT202012))
    return jsonschema.Draft202012Validator({"$ref": f"{DOC_URI}#{pointer}"}, registry=registry)


def escape(segment):
    return segment.replace("~", "~0").replace("/", "~1")


def check_answer(path, op_path, status, headers, body):
    """The answer is documented for the operation: its status, its media type and, for JSON,
    a body the documented schema accepts."""
    responses = OPENAPI["paths"][op_path]["get"]["responses"]
    assert str(status) in responses, f"GET {path} answered {status}, documented {list(responses)}"
    content = responses[str(status)].get("content", {})
    kind = headers.get("content-type", "").split(";")[0].strip()
    assert kind in content, f"GET {path}: {kind} is not among {list(content)}"
    if kind != "application/json":
        return None
    doc = json.loads(body)
    pointer = (f"/paths/{escape(op_path)}/get/responses/{status}/content/"
               f"{escape('application/json')}/schema")
    errors = sorted(validator_for(pointer).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        pytest.fail(f"GET {path} ({status}) does not match docs/openapi.json:\n" + "\n".join(
            f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in errors[:15]), pytrace=False)
    return doc


def get_ops():
    return [(p, op) for p, ops in OPENAPI["paths"].items() for m, op in ops.items()
            if m == "get"]


def sample(api):
    """Real values of this daemon for every parameter the document names."""
    report = api.get("/api/v1/report")
    incidents = api.get("/api/v1/incidents?limit=1000")["incidents"]
    assert len(incidents) >= 8, incidents
    first = lambda key: next(v for i in incidents for v in i["scope"][key])  # noqa: E731
    return {
        "id": incidents[0]["id"],
        "file": "app.js",
        "from": [report["window"]["start"], str(int(ts(report["window"]["start"])))],
        "to": [report["window"]["end"]],
        "since": [report["window"]["start"], "0"],
        "limit": ["5"],
        "step": ["60"],
        "code": sorted({c for i in incidents for c in i["status"]})[:1],
        "cause": [incidents[0]["diagnosis"]["cause"]],
        "host": [first("hosts")],
        "route": [first("routes")],
        "upstream": [first("upstreams")],
    }


def values_of(param, samples):
    enum = param.get("schema", {}).get("enum")
    return enum or samples[param["name"]]


def fill(op_path, samples):
    return op_path.replace("{id}", samples["id"]).replace("{file}", samples["file"])


def test_every_documented_get_answers_a_body_its_schema_accepts(api):
    samples = sample(api)
    for op_path, _ in get_ops():
        path = fill(op_path, samples)
        status, headers, body = fetch(api, path)
        assert status == 200, f"GET {path}: {status} {body[:300]!r}"
        check_answer(path, op_path, status, headers, body)
    # The report's incidents, the list and one by id are the same objects.
    one = api.get(f"/api/v1/incidents/{samples['id']}")
    assert one in api.get("/api/v1/report")["incidents"]
    assert one == api.get("/api/v1/incidents?limit=1000")["incidents"][0]


def test_every_documented_query_parameter_is_accepted(api):
    samples = sample(api)
    documented, tried = set(), set()
    for op_path, op in get_ops():
        for param in op.get("parameters", []):
            if param["in"] != "query":
                continue
            documented.add((op_path, param["name"]))
            for value in values_of(param, samples):
                query = {param["name"]: value}
                if op_path == "/api/v1/top" and param["name"] in ("host", "route", "upstream"):
                    query["by"] = param["name"]  # a key's own row: the documented rule
                path = f"{fill(op_path, samples)}?{urllib.parse.urlencode(query)}"
                status, headers, body = fetch(api, path)
                assert status == 200, f"GET {path}: {status} {body[:300]!r}"
                check_answer(path, op_path, status, headers, body)
                tried.add((op_path, param["name"]))
    assert tried == documented and len(documented) >= 25, sorted(documented - tried)


def test_errors_have_the_documented_shape(api):
    for path, status in [("/api/v1/report?from=yesterday", 400),
                         ("/api/v1/series?route=%2Fa&host=b", 400),
                         ("/api/v1/top?by=upstream&route=%2Fa", 400),
                         ("/api/v1/incidents?limit=1&limit=2", 400),
                         ("/api/v1/incidents/inc-20000101T000000-00000000", 404),
                         ("/assets/nothing.js", 404)]:
        got, headers, body = fetch(api, path)
        assert got == status, f"GET {path}: {got} {body[:300]!r}"
        op_path = "/assets/{file}" if path.startswith("/assets/") else \
            "/api/v1/incidents/{id}" if path.startswith("/api/v1/incidents/") else \
            path.split("?")[0]
        doc = check_answer(path, op_path, got, headers, body)
        assert doc["error"]["status"] == status, doc
    # A method the path does not answer: the same shape, and the methods it does answer.
    got, headers, body = fetch(api, "/api/v1/report", method="POST")
    assert got == 405 and headers["allow"] == "GET,HEAD", (got, dict(headers))
    assert json.loads(body)["error"]["status"] == 405


def test_incidents_filter_by_host_route_and_upstream(api):
    every = api.get("/api/v1/incidents?limit=1000")["incidents"]
    tried = collections.Counter()
    for key in ("host", "route", "upstream"):
        values = {v for i in every for v in i["scope"][key + "s"]}
        assert values, f"no incident names a {key}"
        for v in values:
            got = api.get("/api/v1/incidents?limit=1000&" + urllib.parse.urlencode({key: v}))
            want = [i["id"] for i in every if v in i["scope"][key + "s"]]
            assert [i["id"] for i in got["incidents"]] == want, (key, v)
            tried[key] += 1
    assert all(tried[k] >= 2 for k in ("host", "route", "upstream")), tried
    # Together: every filter must match.
    inc = next(i for i in every if i["scope"]["routes"] and i["scope"]["upstreams"])
    host, route, up = (inc["scope"][k][0] for k in ("hosts", "routes", "upstreams"))
    q = urllib.parse.urlencode({"host": host, "route": route, "upstream": up})
    got = [i["id"] for i in api.get(f"/api/v1/incidents?limit=1000&{q}")["incidents"]]
    assert inc["id"] in got
    assert got == [i["id"] for i in every if host in i["scope"]["hosts"]
                   and route in i["scope"]["routes"] and up in i["scope"]["upstreams"]]
    assert api.get("/api/v1/incidents?host=nobody.example")["incidents"] == []


def host_counts():
    """{host: (requests, {5xx code: n})} of the example access log, by regex-free splitting."""
    out = {}
    for line in (EXAMPLES / "access.log").read_bytes().splitlines():
        status = line.split(b'" ', 2)[1][:3].decode()  # after the request line
        host = line.rsplit(b'"', 2)[1].decode()
        n, codes = out.setdefault(host, [0, {}])
        out[host][0] = n + 1
        if status.startswith("5"):
            codes[status] = codes.get(status, 0) + 1
    return out


def test_report_series_and_top_narrowed_to_one_key_agree_with_the_log(api):
    for host, (requests, codes) in host_counts().items():
        q = urllib.parse.urlencode({"host": host})
        rep = api.get(f"/api/v1/report?{q}")
        assert rep["scope"] == {"host": host}
        assert rep["totals"]["requests"] == requests, host
        assert rep["totals"]["by_status"] == codes, host
        assert rep["totals"]["by_class"].get("5xx", 0) == sum(codes.values()), host
        assert [r["name"] for r in rep["top"]["hosts"]] == [host]
        assert rep["top"]["routes"] == [] and rep["top"]["upstreams"] == []
        assert all(host in i["scope"]["hosts"] for i in rep["incidents"])
        row = api.get(f"/api/v1/top?by=host&{q}")["items"]
        assert [(r["name"], r["requests"], r["by_code"]) for r in row] == [(host, requests, codes)]
        points = api.get(f"/api/v1/series?{q}")["points"]
        assert sum(p["requests"] for p in points) == requests, host
    # A route: the narrowed report, its top row and its series say the same.
    route = api.get("/api/v1/top?by=route")["items"][0]
    q = urllib.parse.urlencode({"route": route["name"]})
    rep = api.get(f"/api/v1/report?{q}")
    assert rep["totals"]["requests"] == route["requests"]
    assert rep["totals"]["by_class"].get("5xx", 0) == route["errors_5xx"]
    assert [r["route"] for r in rep["top"]["routes"]] == [route["name"]]
    assert sum(p["errors_5xx"] for p in api.get(f"/api/v1/series?{q}")["points"]) == \
        route["errors_5xx"]
    # What the rollups cannot answer is refused by name.
    status, _, body = fetch(api, f"/api/v1/report?{q}&host=x")
    assert status == 400 and "host= and route= together" in json.loads(body)["error"]["message"]


def test_error_groups_are_those_analyze_finds(api, faultline, tmp_path):
    want, _ = faultline.analyze_json(*(EXAMPLES / n for n in ("access.log", "error.log",
                                                              "app.log")))
    assert len(want["error_groups"]) >= 3
    want_counts = {g["fingerprint"]: g["count"] for g in want["error_groups"]}
    seen = {}

    def same():
        seen["got"] = api.get("/api/v1/error-groups")["error_groups"]
        return {g["fingerprint"]: g["count"] for g in seen["got"]} == want_counts

    deadline = time.monotonic() + 15
    while not same() and time.monotonic() < deadline:
        time.sleep(0.2)
    got = {g["fingerprint"]: g for g in seen["got"]}
    assert {f: g["count"] for f, g in got.items()} == want_counts
    for g in want["error_groups"]:
        mine = got[g["fingerprint"]]
        for key in ("kind", "title", "signature", "first_seen", "last_seen"):
            assert mine[key] == g[key], (g["fingerprint"], key)
        assert mine["source"].endswith(g["source"].rsplit("/", 1)[-1])
    # A range before the logs has none; one over them has them all.
    report = api.get("/api/v1/report")
    assert api.get("/api/v1/error-groups?from=0&to=1000")["error_groups"] == []
    q = urllib.parse.urlencode({"from": report["window"]["start"], "to": report["window"]["end"]})
    assert len(api.get(f"/api/v1/error-groups?{q}")["error_groups"]) == len(want_counts)
