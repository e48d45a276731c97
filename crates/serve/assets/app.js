"use strict";
// The faultline dashboard: a client of the JSON API under api/v1/ (relative URLs only, so
// it works under any path prefix behind a proxy). Every string that comes from a log is put
// in the page as text (textContent), never as markup.
(function () {
  const TOKEN_KEY = "faultline.token";
  const AUTHOR_KEY = "faultline.author";
  const REFRESH_MS = 2000;
  const Chart = window.FaultlineChart;

  // ---------------------------------------------------------------- small helpers

  function store(key, value) {
    try {
      if (value === undefined) return window.localStorage.getItem(key) || "";
      if (value) window.localStorage.setItem(key, value);
      else window.localStorage.removeItem(key);
    } catch (e) {
      // Storage may be disabled; the token then lasts as long as the page.
      store.mem = store.mem || {};
      if (value === undefined) return store.mem[key] || "";
      store.mem[key] = value;
    }
    return value;
  }

  // Only links inside the dashboard are made from data.
  function safeHref(v) {
    return typeof v === "string" && v.startsWith("#") ? v : "#/";
  }

  /** h("td", {class: "num", text: 3}, child…): an element; strings become text nodes. */
  function h(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = String(v);
      else if (k === "href") e.setAttribute("href", safeHref(v));
      else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
      else if (typeof v === "boolean") e[k] = v;
      else e.setAttribute(k, String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function clear(node, ...children) {
    node.textContent = "";
    for (const c of children.flat()) if (c) node.append(c);
    return node;
  }

  const num = (n) => (typeof n === "number" ? n.toLocaleString("en") : "—");
  const pct = (x, digits = 1) => (typeof x === "number" && isFinite(x) ? `${(x * 100).toFixed(digits)} %` : "—");
  const ratio = (a, b) => (b > 0 ? a / b : null);
  const ms = (v) => (typeof v === "number" ? `${v >= 100 ? Math.round(v) : +v.toFixed(1)} ms` : "—");

  function bytes(n) {
    if (typeof n !== "number") return "—";
    if (n < 1024) return `${n} B`;
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let v = n;
    let i = -1;
    do { v /= 1024; i++; } while (v >= 1024 && i < units.length - 1);
    return `${v.toFixed(1)} ${units[i]}`;
  }

  // RFC 3339 text, Unix seconds or milliseconds -> Unix seconds.
  function secs(v) {
    if (v === undefined || v === null || v === "") return null;
    if (typeof v === "number") return v > 1e11 ? v / 1000 : v;
    const t = Date.parse(v);
    return isNaN(t) ? null : t / 1000;
  }

  const pad2 = (n) => String(n).padStart(2, "0");
  function when(v) {
    const s = secs(v);
    if (s === null) return "—";
    const d = new Date(s * 1000);
    return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
      `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  }

  function dur(s) {
    if (typeof s !== "number" || !isFinite(s)) return "—";
    s = Math.max(0, Math.round(s));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  }

  // A CSS class for a status code ("502" -> "code c5xx c502"); only digits make it in.
  function codeClass(code) {
    const c = String(code);
    if (!/^\d{3}$/.test(c)) return "code c5xx";
    return `code c${c[0]}xx c${c}`;
  }

  function codes(status) {
    const keys = Object.keys(status || {}).sort();
    return h("span", { class: "codes" },
      keys.map((k) => h("span", { class: codeClass(k), title: `${num(status[k])} × ${k}` }, `${k} × ${num(status[k])}`)));
  }

  function badge(text, cls) {
    return h("span", { class: `badge ${cls || ""}` }, text);
  }

  const stateBadge = (s) => badge(s || "—", `state-${/^[a-z]+$/.test(s) ? s : "other"}`);

  function table(headers, rows, opts) {
    const o = opts || {};
    return h("div", { class: "table-wrap" },
      h("table", { class: o.class || "" },
        h("thead", {}, h("tr", {}, headers.map((c) => {
          const [text, cls] = Array.isArray(c) ? c : [c, ""];
          return h("th", { class: cls }, text);
        }))),
        h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { class: "muted", colspan: headers.length }, o.empty || "none")))));
  }

  const td = (content, cls) => h("td", { class: cls || "" }, content);
  const tdNum = (n) => h("td", { class: "num" }, typeof n === "number" ? num(n) : n);

  function section(title, ...children) {
    return h("section", { class: "card" }, h("h2", {}, title), ...children);
  }

  function errorBox(err) {
    return h("p", { class: "error", role: "alert" }, err && err.message ? err.message : String(err));
  }

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, opts) {
    const o = opts || {};
    const method = o.method || "GET";
    const headers = { Accept: "application/json" };
    const token = store(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    if (o.body !== undefined) headers["Content-Type"] = "application/json";
    let r;
    try {
      r = await fetch(path, {
        method,
        headers,
        body: o.body !== undefined ? JSON.stringify(o.body) : undefined,
        cache: "no-store",
        credentials: "same-origin",
      });
    } catch (e) {
      throw new ApiError(0, `the server cannot be reached (${e.message})`);
    }
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!r.ok) {
      const msg = data && data.error && typeof data.error.message === "string"
        ? data.error.message : `${r.status} ${r.statusText}`;
      if (r.status === 401 && method === "GET") askToken(msg);
      throw new ApiError(r.status, `${method} ${path.split("?")[0]}: ${msg}`);
    }
    if (data === null) throw new ApiError(r.status, `${method} ${path}: the answer is not JSON`);
    return data;
  }

  // A route that may not exist on an older server: null instead of a 404.
  async function maybe(path) {
    try {
      return await api(path);
    } catch (e) {
      if (e.status === 404) return null;
      throw e;
    }
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    }
    const s = q.toString();
    return s ? `?${s}` : "";
  }

  // ---------------------------------------------------------------- token

  function askToken(message) {
    const bar = document.getElementById("tokenbar");
    bar.hidden = false;
    const label = bar.querySelector("label");
    label.textContent = message && /token/i.test(message)
      ? "This server needs a token to read:" : "A token is needed:";
  }

  function setupTokenBar() {
    const form = document.getElementById("tokenform");
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = document.getElementById("tokeninput");
      store(TOKEN_KEY, input.value.trim());
      input.value = "";
      document.getElementById("tokenbar").hidden = true;
      events.restart();
      remount();
    });
  }

  // ---------------------------------------------------------------- routing

  function parseHash() {
    let raw = location.hash.replace(/^#/, "");
    if (!raw.startsWith("/")) raw = `/${raw}`;
    const q = raw.indexOf("?");
    const path = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
    const parts = path.split("/").filter(Boolean).map((p) => {
      try { return decodeURIComponent(p); } catch (e) { return p; }
    });
    return { parts, params };
  }

  function hashFor(parts, params) {
    const path = `#/${parts.map(encodeURIComponent).join("/")}`;
    const q = params ? params.toString() : "";
    return q ? `${path}?${q}` : path;
  }

  const incidentHref = (id) => hashFor(["incidents", id]);

  function overviewHref(changes) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(changes)) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
    return hashFor([], params);
  }

  let current = null; // {key, view}

  function route() {
    const r = parseHash();
    const name = r.parts[0] || "overview";
    let key = name;
    let make;
    if (name === "incidents" && r.parts[1]) {
      key = `incident:${r.parts[1]}`;
      make = () => new IncidentView(r.parts[1]);
    } else if (name === "alerts") {
      make = () => new AlertsView();
    } else if (name === "inputs") {
      make = () => new InputsView();
    } else if (name === "overview" || name === "") {
      key = "overview";
      make = () => new OverviewView();
    } else {
      key = "missing";
      make = () => new MissingView(r.parts.join("/"));
    }
    for (const a of document.querySelectorAll("header nav a")) {
      const v = a.getAttribute("data-view");
      a.classList.toggle("active", v === name || (v === "overview" && key.startsWith("incident:")));
    }
    navGen++;
    pageState("loading");
    if (current && current.key === key) {
      current.view.params = r.params;
      refreshNow();
      return;
    }
    if (current && current.view.unmount) current.view.unmount();
    const view = make();
    view.params = r.params;
    current = { key, view };
    const main = document.getElementById("main");
    clear(main);
    view.mount(main);
    refreshNow();
  }

  function remount() {
    current = null;
    route();
  }

  // ---------------------------------------------------------------- refresh and status

  let refreshTimer = null;
  let lastRefresh = 0;
  let refreshing = false;
  let again = false;
  let navGen = 0; // bumped at every navigation: a refresh begun before it is not the page's

  // The main area says whether the current view has loaded (data-state), for people
  // reading the page's source and for the browser tests.
  function pageState(state) {
    document.getElementById("main").setAttribute("data-state", state);
  }

  function refreshNow() {
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = null;
    runRefresh();
  }

  // At most one refresh per REFRESH_MS, and none while the pointer is on a chart or a form
  // field is being edited.
  function scheduleRefresh() {
    if (refreshTimer) return;
    const wait = Math.max(0, lastRefresh + REFRESH_MS - Date.now());
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      if (current && current.view.busy && current.view.busy()) {
        lastRefresh = Date.now();
        scheduleRefresh();
        return;
      }
      runRefresh();
    }, wait);
  }

  // One refresh at a time; one asked for meanwhile runs right after.
  async function runRefresh() {
    if (!current) return;
    if (refreshing) { again = true; return; }
    refreshing = true;
    again = false;
    lastRefresh = Date.now();
    const gen = navGen;
    const view = current.view;
    try {
      await view.refresh();
      if (gen === navGen) {
        status.updated();
        pageState("ready");
      }
    } catch (e) {
      if (gen === navGen) {
        if (view.failed) view.failed(e);
        status.error(e);
        pageState("error");
      }
    } finally {
      refreshing = false;
      if (again || gen !== navGen) runRefresh();
    }
  }

  const status = {
    live: false,
    last: null,
    note: "",
    updated() {
      this.last = new Date();
      this.note = "";
      this.show();
    },
    error(e) {
      this.note = e && e.message ? e.message : String(e);
      this.show();
    },
    show() {
      const node = document.getElementById("status");
      const t = this.last ? `updated ${when(this.last.getTime())} UTC` : "not loaded yet";
      const live = this.live ? "live" : "not live";
      node.textContent = `${t} · ${live}${this.note ? ` · ${this.note}` : ""}`;
      node.classList.toggle("status-error", !!this.note);
      node.classList.toggle("status-live", this.live && !this.note);
    },
  };

  function showSummary(d) {
    const node = document.getElementById("summary");
    const count = (v) => (Array.isArray(v) ? v.length : typeof v === "number" ? v : null);
    const open = count(d.open_incidents ?? d.incidents_open ?? d.open);
    const firing = count(d.firing_alerts ?? d.alerts_firing ?? d.firing);
    const parts = [];
    if (open !== null) parts.push(h("span", { class: open ? "hot" : "" }, `${open} open incident${open === 1 ? "" : "s"}`));
    if (firing !== null) parts.push(h("span", { class: firing ? "hot" : "" }, `${firing} firing alert${firing === 1 ? "" : "s"}`));
    clear(node, parts);
  }

  // ---------------------------------------------------------------- live updates (SSE)

  // Server-sent events read with fetch(), so the Authorization header can be sent.
  const events = {
    delay: 1000,
    controller: null,
    timer: null,
    restart() {
      if (this.controller) this.controller.abort();
      if (this.timer) clearTimeout(this.timer);
      this.delay = 1000;
      this.connect();
    },
    async connect() {
      this.timer = null;
      const controller = new AbortController();
      this.controller = controller;
      const headers = { Accept: "text/event-stream" };
      const token = store(TOKEN_KEY);
      if (token) headers.Authorization = `Bearer ${token}`;
      try {
        const r = await fetch("api/v1/events", { headers, cache: "no-store", signal: controller.signal });
        if (r.status === 401) askToken("");
        if (!r.ok || !r.body) throw new Error(`live updates: ${r.status}`);
        status.live = true;
        status.show();
        this.delay = 1000;
        const reader = r.body.getReader();
        const decoder = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            this.handle(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        }
      } catch (e) {
        if (controller.signal.aborted) return;
      }
      if (this.controller !== controller) return;
      status.live = false;
      status.show();
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 30000);
    },
    handle(block) {
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const c = line.indexOf(":");
        const field = c < 0 ? line : line.slice(0, c);
        const value = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (name !== "update") return;
      try {
        const d = JSON.parse(data.join("\n"));
        if (d && typeof d === "object") showSummary(d);
      } catch (e) {
        // Not JSON: still a sign that something changed.
      }
      scheduleRefresh();
    },
  };

  // ---------------------------------------------------------------- charts

  // The contract's cause ids (docs/report.md).
  const CAUSES = ["upstream_down", "upstream_timeout", "upstream_unreachable", "upstream_reset",
    "upstream_protocol", "tls_failure", "app_error", "dependency_failure", "overload",
    "rate_limited", "resource_exhaustion", "maintenance", "proxy_error", "client", "unknown"];
  // The filters the stored rollups narrow totals, charts and tables to, one at a time.
  const SCOPE_KEYS = ["host", "route", "upstream"];
  const RANGES = [["15m", 900], ["1h", 3600], ["6h", 21600], ["24h", 86400], ["7d", 604800], ["all", 0]];
  const STEPS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

  // A round step giving at most about `points` points over [from, to).
  function stepFor(from, to, points) {
    const want = Math.max(1, (to - from) / points);
    return STEPS.find((s) => s >= want) || STEPS.at(-1);
  }

  // A range widened to whole intervals (at least whole minutes, the coarser tier's), so the
  // first and last points of a series are not partial intervals that look like a drop.
  function whole(from, to, step) {
    const unit = Math.max(step, 60);
    return { from: Math.floor(from / unit) * unit, to: Math.ceil(to / unit) * unit };
  }

  // The series answer, or the report's timeline as one.
  function seriesPoints(series) {
    return (series.points || []).map((p) => {
      const values = { requests: p.requests || 0, errors_5xx: p.errors_5xx || 0 };
      for (const [k, v] of Object.entries(p.by_code || {})) values[`code:${k}`] = v;
      return { t: secs(p.t), values };
    }).filter((p) => p.t !== null);
  }

  function timelineAsSeries(timeline) {
    return {
      step: timeline.bucket_secs,
      points: (timeline.buckets || []).map((b) => ({
        t: secs(b.start), requests: b.requests, errors_5xx: b.errors_5xx, by_code: b.by_code,
      })),
    };
  }

  function codeSeries(points) {
    const keys = new Set();
    for (const p of points) for (const k of Object.keys(p.values)) if (k.startsWith("code:")) keys.add(k);
    return [...keys].sort().map((k) => {
      const code = k.slice(5);
      return { key: k, label: code === "5xx_other" ? "other 5xx" : code, cls: `s-${/^\d{3}$/.test(code) ? code : "5xx"}`, kind: "area" };
    });
  }

  // ---------------------------------------------------------------- overview

  class OverviewView {
    constructor() {
      this.seq = 0;
      this.charts = [];
      this.newest = null; // the newest event time stored (presets count back from it)
    }

    get filters() {
      const p = this.params;
      return {
        range: p.get("range") || "all",
        from: p.get("from") ? Number(p.get("from")) : null,
        to: p.get("to") ? Number(p.get("to")) : null,
        host: p.get("host") || "",
        route: p.get("route") || "",
        upstream: p.get("upstream") || "",
        status: p.get("status") || "",
        code: p.get("code") || "",
        cause: p.get("cause") || "",
      };
    }

    go(changes) {
      const p = new URLSearchParams(this.params);
      for (const [k, v] of Object.entries(changes)) {
        if (v === null || v === undefined || v === "") p.delete(k);
        else p.set(k, String(v));
      }
      location.hash = hashFor([], p);
    }

    mount(root) {
      this.root = root;
      const rangeButtons = RANGES.map(([name]) =>
        h("button", { type: "button", class: "range", "data-range": name, onclick: () => this.go({ range: name === "all" ? null : name, from: null, to: null }) }, name === "all" ? "all" : `last ${name}`));
      this.zoomNote = h("span", { class: "zoom-note", hidden: true });
      this.reset = h("button", { type: "button", class: "reset", hidden: true, onclick: () => this.go({ from: null, to: null }) }, "Reset zoom");
      const field = (name, label, list) => {
        const input = h("input", { type: "search", name, list: list ? `${name}-list` : null, placeholder: "any", autocomplete: "off" });
        input.addEventListener("change", () => this.go({ [name]: input.value.trim() }));
        this[`${name}Input`] = input;
        const dl = list ? h("datalist", { id: `${name}-list` }) : null;
        this[`${name}List`] = dl;
        return h("label", { class: "field" }, h("span", {}, label), input, dl);
      };
      this.statusSelect = h("select", { name: "status" },
        h("option", { value: "" }, "any"), h("option", { value: "open" }, "open"), h("option", { value: "resolved" }, "resolved"));
      this.statusSelect.addEventListener("change", () => this.go({ status: this.statusSelect.value }));
      this.codeSelect = h("select", { name: "code" }, h("option", { value: "" }, "any"));
      this.codeSelect.addEventListener("change", () => this.go({ code: this.codeSelect.value }));
      this.causeSelect = h("select", { name: "cause" }, h("option", { value: "" }, "any"),
        CAUSES.map((c) => h("option", { value: c }, c)));
      this.causeSelect.addEventListener("change", () => this.go({ cause: this.causeSelect.value }));
      const filters = h("form", { class: "filters", onsubmit: (ev) => ev.preventDefault() },
        h("div", { class: "ranges", role: "group", "aria-label": "time range" }, rangeButtons, this.zoomNote, this.reset),
        h("div", { class: "fields" },
          field("host", "Host", true), field("route", "Route", true), field("upstream", "Upstream", true),
          h("label", { class: "field" }, h("span", {}, "Incidents"), this.statusSelect),
          h("label", { class: "field narrow" }, h("span", {}, "Status code"), this.codeSelect),
          h("label", { class: "field" }, h("span", {}, "Cause"), this.causeSelect),
          h("a", { class: "clear", href: "#/" }, "Clear filters")));

      this.totals = h("div", { class: "totals" });
      this.chartReq = h("div", { class: "chart-slot", id: "chart-requests" });
      this.chart5xx = h("div", { class: "chart-slot", id: "chart-5xx" });
      this.chartNote = h("p", { class: "muted note" });
      this.incidents = h("div", { class: "incident-list" });
      this.routes = h("div");
      this.upstreams = h("div");
      this.groups = h("div");
      this.message = h("div");
      root.append(
        h("h1", { class: "page-title" }, "Overview"),
        filters, this.message, this.totals,
        h("div", { class: "grid2" },
          section("Requests per second", this.chartReq),
          section("5xx per second by status code", this.chart5xx)),
        this.chartNote,
        section("Incidents", this.incidents),
        h("div", { class: "grid2" },
          section("Top failing routes", this.routes),
          section("Top failing upstreams", this.upstreams)),
        section("Error groups", this.groups));
    }

    busy() {
      return this.charts.some((c) => c.hovering()) || (document.activeElement && document.activeElement.tagName === "INPUT" && this.root.contains(document.activeElement));
    }

    syncControls(f) {
      for (const b of this.root.querySelectorAll("button.range")) {
        b.classList.toggle("active", f.from === null && b.getAttribute("data-range") === f.range);
      }
      const zoomed = f.from !== null && f.to !== null;
      this.zoomNote.hidden = !zoomed;
      this.reset.hidden = !zoomed;
      if (zoomed) this.zoomNote.textContent = `${when(f.from)} – ${when(f.to)} UTC`;
      for (const k of ["host", "route", "upstream"]) {
        const input = this[`${k}Input`];
        if (document.activeElement !== input) input.value = f[k];
      }
      this.statusSelect.value = f.status;
      this.setOptions(this.codeSelect, f.code);
      if (f.cause && ![...this.causeSelect.options].some((o) => o.value === f.cause)) {
        this.causeSelect.append(h("option", { value: f.cause }, f.cause));
      }
      this.causeSelect.value = f.cause;
    }

    // The status codes to pick from: the 5xx seen, and the one in the URL.
    setOptions(select, value, codes) {
      if (codes) this.codes = codes;
      const list = [...new Set([...(this.codes || []), ...(value ? [value] : [])])].sort();
      const now = [...select.options].slice(1).map((o) => o.value);
      if (now.join() !== list.join()) {
        clear(select, h("option", { value: "" }, "any"), list.map((c) => h("option", { value: c }, c)));
      }
      select.value = value;
    }

    async refresh() {
      const seq = ++this.seq;
      const f = this.filters;
      this.syncControls(f);
      // The range: a zoom, or a preset counted back from the newest line stored.
      let from = null;
      let to = null;
      if (f.from !== null && f.to !== null && f.to > f.from) {
        from = f.from;
        to = f.to;
      } else if (f.range !== "all") {
        const span = (RANGES.find(([n]) => n === f.range) || [null, 3600])[1];
        if (this.newest === null) {
          const all = await api("api/v1/report");
          this.newest = secs(all.window && all.window.end) || Date.now() / 1000;
        }
        from = Math.floor(this.newest - span);
      }
      // The stored rollups count host, route and upstream each on its own: totals, charts
      // and tables narrow to one of them (the API refuses more with a 400), and only the
      // incidents, which take every filter, are narrowed by several.
      const keys = SCOPE_KEYS.filter((k) => f[k]);
      const scope = keys.length === 1 ? { [keys[0]]: f[keys[0]] } : {};
      const refused = keys.length > 1
        ? `${keys.join(" and ")} together: the stored rollups count host, route and upstream each on their own, so the totals, charts and tables narrow to one of them.`
        : "";
      const report = await api(`api/v1/report${query({ from, to, ...scope })}`);
      if (seq !== this.seq) return;
      const wEnd = secs(report.window && report.window.end);
      const wStart = secs(report.window && report.window.start);
      if (f.from === null && wEnd !== null) this.newest = wEnd;
      const axisFrom = from !== null ? from : (wStart !== null ? Math.floor(wStart) : null);
      const axisTo = to !== null ? to : (wEnd !== null ? Math.ceil(wEnd) + 1 : null);

      const step = axisFrom !== null && axisTo !== null ? stepFor(axisFrom, axisTo, 240) : 60;
      const [seriesAns, incAns] = await Promise.all([
        axisFrom !== null && !refused
          ? maybe(`api/v1/series${query({ ...whole(axisFrom, axisTo, step), step, ...scope })}`) : Promise.resolve({ step, points: [] }),
        api(`api/v1/incidents${query({ from, to, limit: 50, state: f.status, code: f.code, cause: f.cause, host: f.host, route: f.route, upstream: f.upstream })}`),
      ]);
      if (seq !== this.seq) return;
      let series = seriesAns;
      let note = "";
      if (!series) {
        series = timelineAsSeries(report.timeline || {});
        if (keys.length) note = "This server cannot narrow the chart to a host, route or upstream: it shows all requests.";
      }
      const scoped = Object.entries(scope)[0];
      if (scoped) note = note || `The totals, charts and tables show the requests of ${scoped[0]} ${scoped[1]}; the error groups are not narrowed (their events name no host, route or upstream).`;
      if (refused) note = `Only the incidents match every filter: ${refused}`;
      clear(this.message);
      // A live update that changed nothing here leaves the page (and a selection) alone.
      const key = JSON.stringify([report, series, incAns, axisFrom, axisTo, note, f, refused]);
      if (key === this.shown) return;
      this.shown = key;
      this.render(report, series, incAns.incidents || [], axisFrom, axisTo, note, f, !!refused);
      if (!keys.length) this.suggest(report.top || {});
    }

    // The filters' suggestions: the keys of a report of everything.
    suggest(top) {
      const fill = (list, names) => clear(list, names.slice(0, 200).map((n) => h("option", { value: n })));
      fill(this.hostList, (top.hosts || []).map((r) => r.name));
      fill(this.routeList, (top.routes || []).map((r) => r.route));
      fill(this.upstreamList, (top.upstreams || []).map((r) => r.upstream));
    }

    // `refused`: the filters name a combination the rollups cannot narrow to, and only the
    // incidents are shown narrowed.
    render(report, series, incidents, from, to, note, f, refused) {
      const t = refused ? {} : report.totals || {};
      const by = t.by_class || {};
      const errors = by["5xx"] || 0;
      const open = incidents.filter((i) => i.state === "open").length;
      const shown = (v) => (refused ? "—" : v);
      clear(this.totals,
        h("div", { class: "stat" }, h("span", { class: "label" }, "Requests"), h("span", { class: "value" }, shown(num(t.requests || 0)))),
        h("div", { class: "stat" }, h("span", { class: "label" }, "5xx"), h("span", { class: `value ${errors ? "bad" : ""}` }, shown(num(errors)))),
        h("div", { class: "stat" }, h("span", { class: "label" }, "5xx rate"), h("span", { class: `value ${errors ? "bad" : ""}` }, shown(pct(t.server_error_rate ?? ratio(errors, t.requests), 2)))),
        h("div", { class: "stat" }, h("span", { class: "label" }, "Incidents (open)"), h("span", { class: `value ${open ? "bad" : ""}` }, `${num(incidents.length)} (${num(open)})`)),
        h("div", { class: "stat" }, h("span", { class: "label" }, "Data"), h("span", { class: "value small" }, report.window && report.window.start ? `${when(report.window.start)} – ${when(report.window.end)} UTC` : "none yet")));

      // Charts.
      const points = seriesPoints(series);
      const step = series.step || 60;
      const bands = incidents.map((i) => ({
        from: secs(i.start), to: secs(i.end), cls: "band-incident",
        label: `${i.id}: ${i.diagnosis ? i.diagnosis.cause : ""}`,
      })).filter((b) => b.from !== null && b.to !== null);
      const zoom = (a, b) => this.go({ from: a, to: b });
      const axis = { from: from ?? undefined, to: to ?? undefined };
      const none = refused ? "not narrowed to these filters" : null;
      this.draw = () => {
        this.charts = [
          Chart.render(this.chartReq, {
            ...axis, step, points, bands, onZoom: zoom, unit: "req/s", title: "Requests and 5xx per second", empty: none || "no request in this range",
            series: [
              { key: "requests", label: "all requests", cls: "s-req", kind: "line" },
              { key: "errors_5xx", label: "5xx", cls: "s-5xx", kind: "line" },
            ],
          }),
          Chart.render(this.chart5xx, {
            ...axis, step, points, bands, onZoom: zoom, unit: "5xx/s", title: "5xx per second by status code", empty: none || "no 5xx in this range",
            series: codeSeries(points).length ? codeSeries(points) : [{ key: "errors_5xx", label: "5xx", cls: "s-5xx", kind: "area" }],
          }),
        ];
      };
      this.draw();
      this.chartNote.textContent = note;
      this.chartNote.hidden = !note;

      // Incidents: open ones first, then the newest.
      const sorted = incidents.slice().sort((a, b) =>
        (a.state === "open" ? 0 : 1) - (b.state === "open" ? 0 : 1) || (secs(b.start) || 0) - (secs(a.start) || 0));
      clear(this.incidents, sorted.length
        ? h("ul", { class: "incidents" }, sorted.map(incidentItem))
        : h("p", { class: "muted" }, "No incident in this range."));

      this.setOptions(this.codeSelect, f.code, Object.keys(t.by_status || {}).filter((c) => c[0] === "5"));

      // Tables: a table of another kind than the one key filtered on cannot be narrowed.
      const top = refused ? {} : report.top || {};
      const scoped = SCOPE_KEYS.find((k) => f[k]);
      const topOrWhy = (key, label, rows) => {
        if (refused) return h("p", { class: "muted not-narrowed" }, "Not narrowed to these filters: see the note under the charts.");
        if (scoped && scoped !== key) {
          return h("p", { class: "muted not-narrowed" },
            `Not broken down by ${key} for one ${scoped}: the stored rollups count host, route and upstream each on its own.`);
        }
        return topTable(rows, key, label, f);
      };
      clear(this.routes, topOrWhy("route", "Route", top.routes || []));
      clear(this.upstreams, topOrWhy("upstream", "Upstream", top.upstreams || []));
      clear(this.groups, groupsTable(report.error_groups || []));
    }

    failed(e) {
      clear(this.message, errorBox(e));
    }

    unmount() {
      this.seq++;
    }
  }

  function incidentItem(inc) {
    const d = inc.diagnosis || {};
    const s = inc.scope || {};
    const where = [...(s.hosts || []).slice(0, 1), ...(s.routes || []).slice(0, 2), ...(s.upstreams || []).slice(0, 1)];
    return h("li", { class: `incident state-${inc.state === "open" ? "open" : "resolved"}` },
      h("div", { class: "incident-head" },
        stateBadge(inc.state),
        h("a", { class: "incident-link", href: incidentHref(inc.id) }, inc.id),
        badge(d.cause || "unknown", "cause"),
        codes(inc.status)),
      h("div", { class: "incident-meta" },
        `${when(inc.start)} – ${when(inc.end)} UTC · ${dur(secs(inc.end) - secs(inc.start))} · ${num(inc.errors)} errors of ${num(inc.requests)} requests`),
      where.length ? h("div", { class: "incident-scope" }, where.map((w) => h("code", {}, w))) : null,
      d.summary ? h("div", { class: "incident-summary" }, d.summary) : null);
  }

  function topTable(rows, key, label, f) {
    const sorted = rows.slice().sort((a, b) => (b.errors_5xx || 0) - (a.errors_5xx || 0) || (b.requests || 0) - (a.requests || 0)).slice(0, 10);
    return table([label, ["Requests", "num"], ["5xx", "num"], ["5xx %", "num"], ["p50", "num"], ["p99", "num"]],
      sorted.map((r) => {
        const name = r[key] ?? r.name;
        const rate = ratio(r.errors_5xx || 0, r.requests || 0);
        const params = { range: f.range === "all" ? null : f.range, from: f.from, to: f.to, [key]: name };
        return h("tr", { class: r.errors_5xx ? "has-errors" : "" },
          td(h("a", { href: overviewHref(params), title: `show ${name} only` }, name), "name"),
          tdNum(r.requests), h("td", { class: `num ${r.errors_5xx ? "bad" : ""}` }, num(r.errors_5xx || 0)),
          tdNum(pct(rate, 2)), tdNum(ms(r.p50_ms)), tdNum(ms(r.p99_ms)));
      }), { empty: "no requests in this range" });
  }

  const baseName = (p) => String(p || "").split("/").pop();

  function groupsTable(groups) {
    return table(["Kind", "Message", ["Count", "num"], "First seen", "Last seen", "Where"],
      groups.slice(0, 15).map((g) => h("tr", {},
        td(h("code", {}, g.kind), "nowrap"),
        td([g.new ? badge("new", "new") : null, h("span", { class: "text" }, g.title || g.sample || "")], "wrap"),
        tdNum(g.count), td(when(g.first_seen), "time"), td(when(g.last_seen), "time"),
        td(h("code", { title: `${g.source}:${g.line}` }, `${baseName(g.source)}:${g.line}`), "nowrap"))),
      { empty: "no error-log or application events in this range" });
  }

  // ---------------------------------------------------------------- incident

  class IncidentView {
    constructor(id) {
      this.id = id;
      this.charts = [];
      this.seq = 0;
    }

    mount(root) {
      this.root = root;
      this.body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
      root.append(h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Overview"), " › incident"), this.body);
    }

    busy() {
      return this.charts.some((c) => c.hovering());
    }

    async refresh() {
      const seq = ++this.seq;
      let inc;
      try {
        inc = await api(`api/v1/incidents/${encodeURIComponent(this.id)}`);
      } catch (e) {
        if (e.status === 404) {
          clear(this.body, h("h1", { class: "page-title" }, "Incident not found"), errorBox(e));
          return;
        }
        throw e;
      }
      const start = secs(inc.start);
      const end = secs(inc.end);
      const s = inc.scope || {};
      const scope = s.routes && s.routes.length ? { route: s.routes[0] }
        : s.hosts && s.hosts.length ? { host: s.hosts[0] } : s.upstreams && s.upstreams.length ? { upstream: s.upstreams[0] } : {};
      let series = null;
      let from = null;
      let to = null;
      if (start !== null && end !== null) {
        const padding = Math.max(120, end - start);
        from = Math.floor(start - padding);
        to = Math.ceil(end + padding);
        const step = stepFor(from, to, 150);
        series = await maybe(`api/v1/series${query({ ...whole(from, to, step), step, ...scope })}`);
      }
      if (seq !== this.seq) return;
      const key = JSON.stringify([inc, series]);
      if (key === this.shown) return;
      this.shown = key;
      this.render(inc, series, scope, from, to);
    }

    render(inc, series, scope, from, to) {
      const d = inc.diagnosis || {};
      const s = inc.scope || {};
      const start = secs(inc.start);
      const end = secs(inc.end);
      const scopeList = (label, key, items) => h("div", { class: "scope-row" },
        h("span", { class: "label" }, label),
        (items || []).length ? (items || []).map((v) => h("a", { class: "chip", href: overviewHref({ [key]: v }) }, v)) : h("span", { class: "muted" }, "—"));
      const facts = h("dl", { class: "facts" },
        h("dt", {}, "State"), h("dd", {}, stateBadge(inc.state)),
        h("dt", {}, "Start"), h("dd", {}, `${when(inc.start)} UTC`),
        h("dt", {}, "End"), h("dd", {}, `${when(inc.end)} UTC (${dur(end - start)})`),
        h("dt", {}, "Requests"), h("dd", { class: "num" }, num(inc.requests)),
        h("dt", {}, "Errors"), h("dd", { class: "num bad" }, `${num(inc.errors)} (${pct(ratio(inc.errors, inc.requests))})`),
        h("dt", {}, "Status codes"), h("dd", {}, codes(inc.status)));
      const scopeBox = h("div", { class: "scope" },
        scopeList("Hosts", "host", s.hosts), scopeList("Routes", "route", s.routes), scopeList("Upstreams", "upstream", s.upstreams));

      const evidence = table(["Source", ["Line", "num"], ["Count", "num"], "Signature", "Text"],
        (d.evidence || []).map((e) => h("tr", { class: "evidence" },
          td(h("code", { class: "source", title: e.source }, baseName(e.source))),
          h("td", { class: "num line" }, num(e.line)),
          tdNum(e.count),
          td(e.signature ? h("code", { class: "signature" }, e.signature) : h("span", { class: "muted" }, "—")),
          td(h("code", { class: "text" }, e.text), "wrap"))),
        { empty: "no evidence lines", class: "evidence-table" });

      const diagnosis = section("Diagnosis",
        h("div", { class: "diagnosis" },
          h("p", { class: "cause-line" },
            badge(d.cause || "unknown", "cause big"), " ",
            h("span", { class: "category" }, d.category || ""), " ",
            h("span", { class: "confidence" }, `confidence ${pct(d.confidence, 0)}`)),
          h("p", { class: "summary" }, d.summary || ""),
          h("h3", {}, "Why"),
          (d.reasons || []).length ? h("ul", { class: "reasons" }, d.reasons.map((r) => h("li", {}, r))) : h("p", { class: "muted" }, "no reasons given"),
          h("h3", {}, "Evidence"), evidence,
          h("h3", {}, "What to do"),
          (d.remediation || []).length ? h("ol", { class: "remediation" }, d.remediation.map((r) => h("li", {}, r))) : h("p", { class: "muted" }, "—"),
          h("h3", {}, "Other possible causes"),
          (d.alternatives || []).length
            ? table(["Cause", ["Confidence", "num"]], d.alternatives.map((a) => h("tr", {}, td(badge(a.cause, "cause")), tdNum(pct(a.confidence, 0)))))
            : h("p", { class: "muted" }, "none")));

      this.chartSlot = h("div", { class: "chart-slot", id: "chart-incident" });
      const key = Object.entries(scope)[0];
      const chartTitle = key ? `Requests of ${key[0]} ${key[1]}` : "Requests";
      const overviewLink = from !== null
        ? h("a", { href: overviewHref({ from, to, ...scope }) }, "open this window in the overview") : null;

      clear(this.body,
        h("h1", { class: "page-title" }, h("span", { class: "id" }, inc.id), " ", stateBadge(inc.state)),
        h("div", { class: "grid2" }, section("Incident", facts, scopeBox), section(chartTitle, this.chartSlot, h("p", { class: "after-chart" }, overviewLink))),
        diagnosis);

      if (series && from !== null) {
        const points = seriesPoints(series);
        this.draw = () => {
          this.charts = [Chart.render(this.chartSlot, {
            from, to, step: series.step || 60, points, unit: "req/s", title: chartTitle, empty: "no request of this scope in this window",
            bands: [{ from: start, to: end, cls: "band-incident", label: inc.id }],
            series: [
              { key: "errors_5xx", label: "5xx", cls: "s-5xx", kind: "area" },
              { key: "requests", label: "all requests", cls: "s-req", kind: "line" },
            ],
          })];
        };
        this.draw();
      } else {
        this.chartSlot.append(h("p", { class: "muted" }, "No time series for this incident."));
      }
    }

    failed(e) {
      this.shown = null;
      clear(this.body, errorBox(e));
    }

    unmount() {
      this.seq++;
    }
  }

  // ---------------------------------------------------------------- alerts and silences

  function labelChips(labels) {
    const keys = Object.keys(labels || {}).sort();
    return h("span", { class: "labels" }, keys.map((k) => h("span", { class: "chip label-chip" }, `${k}="${labels[k]}"`)));
  }

  function mutedText(m) {
    if (!m) return null;
    return h("span", { class: "muted-by" }, `${m.by || "muted"}${m.what ? ` ${m.what}` : ""}`);
  }

  class AlertsView {
    constructor() {
      this.seq = 0;
    }

    mount(root) {
      this.root = root;
      this.active = h("div");
      this.silences = h("div");
      this.history = h("div");
      this.notifications = h("div");
      this.message = h("div");

      this.matchers = h("textarea", { id: "silence-matchers", name: "matchers", rows: 3, required: true, placeholder: 'host="shop.example"\ncause=~"upstream_.*"', spellcheck: "false" });
      this.duration = h("input", { id: "silence-duration", name: "duration", value: "2h", required: true, placeholder: "2h" });
      this.author = h("input", { id: "silence-author", name: "created_by", required: true, value: store(AUTHOR_KEY), autocomplete: "username" });
      this.comment = h("input", { id: "silence-comment", name: "comment", required: true, placeholder: "why" });
      this.token = h("input", { id: "silence-token", name: "token", type: "password", autocomplete: "off", value: store(TOKEN_KEY), placeholder: "alerting.admin_token" });
      this.formMessage = h("p", { class: "form-message", role: "status" });
      this.submit = h("button", { type: "submit" }, "Create silence");
      const row = (label, input, hint) => h("label", { class: "form-row", for: input.id }, h("span", {}, label), input, hint ? h("small", { class: "muted" }, hint) : null);
      this.form = h("form", { class: "silence-form", id: "silence-form", onsubmit: (ev) => { ev.preventDefault(); this.create(); } },
        row("Matchers", this.matchers, 'one per line: name="value", name!="value", name=~"regex", name!~"regex"'),
        row("Duration", this.duration, "e.g. 30m, 2h, 1d"),
        row("Author", this.author),
        row("Comment", this.comment),
        row("Admin token", this.token, "kept in this browser (localStorage)"),
        h("div", { class: "form-actions" }, this.submit, this.formMessage));

      root.append(
        h("h1", { class: "page-title" }, "Alerts and silences"),
        this.message,
        section("Active alerts", this.active),
        h("div", { class: "grid2 wide-left" },
          section("Silences", this.silences),
          section("New silence", this.form)),
        section("Alert history", this.history),
        section("Notifications", this.notifications));
    }

    busy() {
      const a = document.activeElement;
      return !!(a && this.form.contains(a) && a !== this.submit);
    }

    saveToken() {
      const t = this.token.value.trim();
      if (t !== store(TOKEN_KEY)) store(TOKEN_KEY, t);
    }

    async create() {
      this.saveToken();
      const matchers = this.matchers.value.split("\n").map((l) => l.trim()).filter(Boolean);
      if (!matchers.length) { this.say("Give at least one matcher.", true); return; }
      store(AUTHOR_KEY, this.author.value.trim());
      this.submit.disabled = true;
      try {
        const s = await api("api/v1/silences", {
          method: "POST",
          body: { matchers, duration: this.duration.value.trim(), created_by: this.author.value.trim(), comment: this.comment.value.trim() },
        });
        this.matchers.value = "";
        this.comment.value = "";
        this.say(`Created silence ${s.id || ""}.`, false);
        await this.refresh();
      } catch (e) {
        this.say(e.message, true);
      } finally {
        this.submit.disabled = false;
      }
    }

    async expire(id, button) {
      this.saveToken();
      button.disabled = true;
      try {
        await api(`api/v1/silences/${encodeURIComponent(id)}`, { method: "DELETE" });
        this.say(`Expired silence ${id}.`, false);
        await this.refresh();
      } catch (e) {
        this.say(e.message, true);
        button.disabled = false;
      }
    }

    say(text, bad) {
      this.formMessage.textContent = text;
      this.formMessage.classList.toggle("error", bad);
      this.formMessage.classList.toggle("ok", !bad);
    }

    prefill(labels) {
      const keys = ["alertname", "host", "route", "upstream", "input"].filter((k) => labels && labels[k]);
      this.matchers.value = keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join("\n");
      this.comment.focus();
    }

    async refresh() {
      const seq = ++this.seq;
      const [alerts, silences, notes] = await Promise.all([
        api("api/v1/alerts?limit=200"), api("api/v1/silences"), api("api/v1/notifications?limit=100"),
      ]);
      if (seq !== this.seq) return;
      clear(this.message);
      const active = alerts.active || [];
      clear(this.active, table(["State", "Alert", "Summary", "Labels", "Since", "Muted by", ""],
        active.map((a) => this.alertRow(a, true)), { empty: "no alert is pending or firing" }));
      const now = Date.now();
      const list = silences.silences || [];
      clear(this.silences, table(["State", "Matchers", "Starts", "Ends", "By", "Comment", ""],
        list.map((s) => {
          const live = s.state === "active" || s.state === "pending";
          const button = live ? h("button", { type: "button", class: "expire danger" }, "Expire") : null;
          if (button) button.addEventListener("click", () => this.expire(s.id, button));
          return h("tr", { class: `silence state-${live ? s.state : "expired"}`, "data-id": s.id },
            td(stateBadge(s.state)),
            td((s.matchers || []).map((m) => h("code", { class: "chip" }, typeof m === "string" ? m : JSON.stringify(m))), "matchers"),
            td(when(s.starts_at), "time"),
            td([when(s.ends_at), live ? h("small", { class: "muted" }, ` (in ${dur((secs(s.ends_at) * 1000 - now) / 1000)})`) : null], "time"),
            td(s.created_by), td(s.comment, "wrap"), td(button));
        }), { empty: "no silences", class: "silences-table" }));
      clear(this.history, table(["State", "Alert", "Summary", "Labels", "Since", "Fired", "Resolved", "Muted by"],
        (alerts.alerts || []).map((a) => this.alertRow(a, false)), { empty: "no alerts yet" }));
      clear(this.notifications, table(["Made", "Receiver", "Status", ["Alerts", "num"], "Delivery", ["Attempts", "num"], "Last error"],
        (notes.notifications || []).map((n) => {
          const x = n.notification || {};
          return h("tr", {},
            td(when(x.created_at), "time"), td(x.receiver), td(stateBadge(x.status)),
            tdNum((x.alerts || []).length), td(badge(n.delivery || "—", `delivery-${/^[a-z_]+$/.test(n.delivery) ? n.delivery : "other"}`)),
            tdNum(n.attempts ?? 0), td(n.last_error || "", "wrap error-text"));
        }), { empty: "nothing was sent yet" }));
    }

    alertRow(a, activeList) {
      const l = a.labels || {};
      const d = a.details || {};
      const summary = h("td", { class: "wrap" },
        d.incident ? h("a", { href: incidentHref(d.incident) }, d.summary || d.incident) : (d.summary || ""));
      if (activeList) {
        const b = h("button", { type: "button", class: "small" }, "Silence…");
        b.addEventListener("click", () => this.prefill(l));
        return h("tr", { class: `alert state-${a.state}` },
          td(stateBadge(a.state)), td(l.alertname || a.rule), summary, td(labelChips(l)),
          td(when(a.active_since), "time"), td(mutedText(a.muted)), td(b));
      }
      return h("tr", { class: `alert state-${a.state}` },
        td(stateBadge(a.state)), td(l.alertname || a.rule), summary, td(labelChips(l)),
        td(when(a.active_since), "time"), td(when(a.fired_at), "time"), td(when(a.resolved_at), "time"), td(mutedText(a.muted)));
    }

    failed(e) {
      clear(this.message, errorBox(e));
    }

    unmount() {
      this.seq++;
    }
  }

  // ---------------------------------------------------------------- inputs

  class InputsView {
    constructor() {
      this.seq = 0;
    }

    mount(root) {
      this.list = h("div");
      this.figures = h("div");
      root.append(h("h1", { class: "page-title" }, "Inputs"), section("Files followed", this.list), section("Daemon", this.figures));
    }

    async refresh() {
      const seq = ++this.seq;
      const [ans, st] = await Promise.all([maybe("api/v1/inputs"), api("api/v1/status")]);
      let inputs = ans && ans.inputs;
      if (!inputs) {
        // An older server: the report's inputs with the lag from the status figures.
        const report = await api("api/v1/report");
        const files = st.files || {};
        inputs = (report.inputs || []).map((i) => ({ ...i, lag_bytes: files[i.path] ? files[i.path].lag_bytes : null }));
      }
      if (seq !== this.seq) return;
      clear(this.list, table(["Path", "Kind", "Format", ["Lines", "num"], ["Parsed", "num"], ["Malformed", "num"], ["Lag", "num"], "Error"],
        inputs.map((i) => h("tr", { class: `input ${i.error ? "has-error" : ""}` },
          td(h("code", { class: "path" }, i.path)), td(i.kind), td(i.format || "—"),
          tdNum(i.lines), tdNum(i.parsed),
          h("td", { class: `num ${i.malformed ? "warn" : ""}` }, `${num(i.malformed || 0)}${i.lines ? ` (${pct(ratio(i.malformed || 0, i.lines), 2)})` : ""}`),
          tdNum(bytes(i.lag_bytes)), td(i.error || "", "wrap error-text"))),
        { empty: "no input yet", class: "inputs-table" }));
      clear(this.figures, h("dl", { class: "facts" },
        h("dt", {}, "Commits"), h("dd", { class: "num" }, num(st.commits)),
        h("dt", {}, "Commit failures"), h("dd", { class: `num ${st.commit_failures ? "bad" : ""}` }, num(st.commit_failures)),
        st.last_commit_error ? [h("dt", {}, "Last commit error"), h("dd", { class: "error-text" }, st.last_commit_error)] : null,
        h("dt", {}, "Store size"), h("dd", { class: "num" }, bytes(st.store_bytes))));
    }

    failed(e) {
      clear(this.list, errorBox(e));
    }
  }

  class MissingView {
    constructor(path) {
      this.path = path;
    }

    mount(root) {
      root.append(h("h1", { class: "page-title" }, "Not found"), h("p", {}, "No page ", h("code", {}, this.path), ". ", h("a", { href: "#/" }, "Back to the overview")));
    }

    async refresh() {}
  }

  // ---------------------------------------------------------------- start

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (current && current.view.draw) current.view.draw(); }, 150);
  });

  function start() {
    setupTokenBar();
    window.addEventListener("hashchange", route);
    route();
    events.connect();
    status.show();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
