#!/usr/bin/env node
// Drives the faultline dashboard in a real headless Chromium (Debian's, never a downloaded
// one) against a running `faultline serve`, and exits non-zero with a message at the first
// failure.
//
//   node check.mjs URL OUTDIR [TOKEN]        the dashboard works: overview chart and
//                                            incidents, an incident's diagnosis and
//                                            evidence, a silence made and expired through
//                                            the form (with TOKEN), the inputs; saves
//                                            OUTDIR/overview.png and OUTDIR/incident.png
//   node check.mjs --xss URL OUTDIR          log text never runs: every page and every
//                                            incident is visited, window.__xss stays
//                                            undefined and each payload shows as text
//   node check.mjs --auth URL OUTDIR TOKEN   a server with read tokens: the page asks for
//                                            one, then loads everything with it, and
//                                            remembers it after a reload
//
// Both modes fail on any console error, uncaught exception or CSP violation.
// CHROMIUM overrides the browser's path (default /usr/bin/chromium).

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const args = process.argv.slice(2);
const mode = args[0] && args[0].startsWith("--") ? args.shift().slice(2) : "full";
if (!["full", "xss", "auth"].includes(mode)) {
  console.error(`unknown mode --${mode}`);
  process.exit(2);
}
const [baseArg, outdir, token] = args;
if (!baseArg || !outdir) {
  console.error("usage: node check.mjs [--xss | --auth] URL OUTDIR [TOKEN]");
  process.exit(2);
}
const BASE = baseArg.endsWith("/") ? baseArg : `${baseArg}/`;
const STEP_MS = 10_000;

// What the e2e suite writes into the logs (tests/e2e/test_dashboard.py). faultline keeps
// nginx's \x22 for a quote inside a logged string and masks numbers in error-group titles,
// so each payload is looked for by the part of it that survives both.
const PAYLOADS = [
  "<script>window.__xss=1</script>",
  "<svg onload=window.__xss=1>",
  "<img src=x onerror=",
];

const problems = [];
let passed = 0;

function fail(step, message) {
  const err = new Error(`${step}: ${message}`);
  err.step = step;
  throw err;
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    if (!e.step) e.message = `${name}: ${e.message.split("\n")[0]}`;
    throw e;
  }
  passed++;
  console.log(`ok   ${name} (${Date.now() - t0} ms)`);
}

async function api(path) {
  const r = await fetch(new URL(path, BASE), { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

function assertClean(where) {
  if (problems.length) fail(where, `the page reported errors:\n  ${problems.join("\n  ")}`);
}

async function noXss(page, where) {
  const state = await page.evaluate(() => ({
    flag: typeof window.__xss,
    injected: document.querySelectorAll("main img, main svg[onload], main script, main iframe, [onerror], [onload]").length,
  }));
  if (state.flag !== "undefined") fail(where, "window.__xss was set: log text ran as code");
  if (state.injected) fail(where, `${state.injected} element(s) made from log text were found in the page`);
}

// The page has loaded what its view shows (app.js marks main with data-state).
async function settled(page) {
  await page.waitForSelector("main[data-state=ready]", { timeout: STEP_MS });
}

async function run() {
  mkdirSync(outdir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    timeout: 20_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
    context.setDefaultTimeout(STEP_MS);
    await context.addInitScript(() => {
      window.__csp = [];
      document.addEventListener("securitypolicyviolation", (e) => {
        window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline code"} (${e.sourceFile || ""}:${e.lineNumber || ""})`);
      });
    });
    const page = await context.newPage();
    page.on("console", (msg) => {
      if (msg.type() === "error") {
        const loc = msg.location();
        problems.push(`console error: ${msg.text()}${loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ""}`);
      }
    });
    page.on("pageerror", (err) => problems.push(`uncaught exception: ${err.message}`));
    page.on("requestfailed", (req) => {
      // The live stream is cut when the browser closes; anything else failing is a problem.
      if (!req.url().includes("api/v1/events")) problems.push(`request failed: ${req.url()} ${req.failure() && req.failure().errorText}`);
    });
    const csp = async (where) => {
      const list = await page.evaluate(() => window.__csp || []);
      if (list.length) fail(where, `CSP violations:\n  ${list.join("\n  ")}`);
    };

    if (mode === "xss") await xssRun(page, csp);
    else if (mode === "auth") await authRun(page, csp);
    else await fullRun(page, csp);
    await csp("the whole run");
    assertClean("the whole run");
  } finally {
    await browser.close();
  }
}

async function fullRun(page, csp) {
  const incidents = (await api("api/v1/incidents?limit=100")).incidents;
  if (!incidents.length) fail("setup", "the API lists no incident: nothing to check");
  // The incident with the most evidence lines that name a signature (the richest page).
  const score = (i) => (i.diagnosis.evidence || []).filter((e) => e.source && e.line > 0)
    .reduce((n, e) => n + (e.signature ? 2 : 1), 0);
  const withEvidence = incidents.filter((i) => score(i) > 0)
    .sort((a, b) => score(b) - score(a) || b.errors - a.errors)[0];
  if (!withEvidence) fail("setup", "no incident has an evidence line with a source and line number");
  // The filter check needs an incident that names a route: none is a failure, not a skip.
  const routed = incidents.find((i) => (i.scope.routes || []).length);
  if (!routed) fail("setup", "no incident names a route: the route filter cannot be checked");

  await step("overview renders the charts", async () => {
    const r = await page.goto(BASE, { waitUntil: "domcontentloaded" });
    if (!r || r.status() !== 200) fail("overview", `GET ${BASE}: ${r && r.status()}`);
    const csp = r.headers()["content-security-policy"] || "";
    if (!csp.includes("script-src 'self'")) fail("overview", `no strict CSP on the page: ${csp}`);
    for (const id of ["chart-requests", "chart-5xx"]) {
      await page.waitForFunction((id) => document.querySelectorAll(`#${id} svg path.series`).length > 0, id);
    }
    const max = Number(await page.locator("#chart-requests svg").getAttribute("data-max"));
    if (!(max > 0)) fail("overview", `the request chart shows no request (data-max ${max})`);
    const labels = await page.locator("#chart-requests svg text.tick.x").count();
    if (labels < 2) fail("overview", `the time axis has ${labels} labels`);
    const legend = await page.locator("#chart-5xx .legend-item").allInnerTexts();
    if (!legend.some((t) => /^5\d\d/.test(t.trim()))) fail("overview", `the 5xx legend names no status code: ${legend}`);
  });

  await step("overview lists the incidents", async () => {
    await page.waitForSelector("ul.incidents li a.incident-link");
    const shown = await page.locator("ul.incidents a.incident-link").allInnerTexts();
    const missing = incidents.filter((i) => !shown.includes(i.id)).map((i) => i.id);
    if (missing.length) fail("incidents", `not listed: ${missing.join(", ")}`);
    const routes = await page.locator("#main table tbody tr td.name").count();
    if (!routes) fail("incidents", "the top routes table is empty");
    await page.waitForFunction(() => /updated/.test(document.getElementById("status").textContent));
  });

  await step("hovering the chart shows the values", async () => {
    const box = await page.locator("#chart-requests rect.overlay").boundingBox();
    await page.mouse.move(box.x + box.width * 0.22, box.y + box.height * 0.5);
    const tip = page.locator("#chart-requests .chart-tip");
    await tip.waitFor({ state: "visible" });
    const text = await tip.innerText();
    if (!/all requests/.test(text) || !/\d/.test(text)) fail("hover", `tooltip says ${JSON.stringify(text)}`);
    // The screenshot shows the top of the page with the read-out.
    await page.screenshot({ path: join(outdir, "overview.png") });
    await page.mouse.move(5, 5);
  });

  await step("dragging across the chart zooms, reset goes back", async () => {
    const box = await page.locator("#chart-requests rect.overlay").boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => /[?&]from=\d+/.test(location.hash) && /[?&]to=\d+/.test(location.hash));
    const hash = await page.evaluate(() => location.hash);
    const q = new URLSearchParams(hash.split("?")[1]);
    if (!(Number(q.get("to")) > Number(q.get("from")))) fail("zoom", `bad range in ${hash}`);
    await page.locator("button.reset").waitFor({ state: "visible" });
    await page.locator("button.reset").click();
    await page.waitForFunction(() => !/from=/.test(location.hash));
    await page.mouse.move(5, 5);
  });

  await step("a route filter goes into the URL and narrows totals, charts, tables and incidents", async () => {
    const route = routed.scope.routes[0];
    const q = new URLSearchParams({ route });
    const [narrowed, inScope] = await Promise.all([api(`api/v1/report?${q}`), api(`api/v1/incidents?limit=50&${q}`)]);
    const all = await api("api/v1/report");
    if (!(narrowed.totals.requests < all.totals.requests)) fail("filter", `route ${route} has ${narrowed.totals.requests} of ${all.totals.requests} requests: nothing to narrow`);
    await page.locator("input[name=route]").fill(route);
    await page.locator("input[name=route]").press("Enter");
    await page.waitForFunction((r) => new URLSearchParams(location.hash.split("?")[1] || "").get("route") === r, route);
    await page.waitForFunction((r) => document.querySelector(".note") && document.querySelector(".note").textContent.includes(r), route);
    const stat = (label) => page.evaluate((l) => {
      const s = [...document.querySelectorAll(".stat")].find((x) => x.querySelector(".label").textContent === l);
      return s ? s.querySelector(".value").textContent : null;
    }, label);
    const shows = narrowed.totals.requests.toLocaleString("en");
    try {
      await page.waitForFunction((v) => [...document.querySelectorAll(".stat")].some((x) =>
        x.querySelector(".label").textContent === "Requests" && x.querySelector(".value").textContent === v), shows);
    } catch (e) {
      fail("filter", `Requests shows ${await stat("Requests")}, the API gives ${shows} for route ${route}`);
    }
    const fives = (narrowed.totals.by_class["5xx"] || 0).toLocaleString("en");
    if (await stat("5xx") !== fives) fail("filter", `5xx shows ${await stat("5xx")}, the API gives ${fives}`);
    const rows = await page.locator("#main table tbody tr td.name").allInnerTexts();
    if (JSON.stringify(rows) !== JSON.stringify([route])) fail("filter", `the top routes table lists ${JSON.stringify(rows)}, not only ${route}`);
    if (!(await page.locator(".not-narrowed", { hasText: "upstream" }).count())) fail("filter", "the upstreams table does not say it cannot be narrowed to one route");
    const ids = await page.locator("ul.incidents a.incident-link").allInnerTexts();
    const wantIds = inScope.incidents.map((i) => i.id);
    if (JSON.stringify(ids.slice().sort()) !== JSON.stringify(wantIds.slice().sort()) || !ids.includes(routed.id)) {
      fail("filter", `incidents shown ${JSON.stringify(ids)}, the API gives ${JSON.stringify(wantIds)}`);
    }
    await page.waitForFunction(() => document.querySelectorAll("#chart-requests svg path.series").length > 0);
    await page.locator("a.clear").click();
    await page.waitForFunction(() => !/route=/.test(location.hash));
    // Incidents by status code: the list is what the API gives for it.
    const code = Object.keys(withEvidence.status)[0];
    const stale = () => page.evaluate(() => document.querySelector("main").setAttribute("data-state", "stale"));
    await stale();
    await page.locator("select[name=code]").selectOption(code);
    await page.waitForFunction((c) => new URLSearchParams(location.hash.split("?")[1] || "").get("code") === c, code);
    const want = JSON.stringify(incidents.filter((i) => code in i.status).map((i) => i.id).sort());
    const listed = () => JSON.stringify([...document.querySelectorAll("ul.incidents a.incident-link")].map((a) => a.textContent).sort());
    try {
      await page.waitForFunction((w) => JSON.stringify([...document.querySelectorAll("ul.incidents a.incident-link")]
        .map((a) => a.textContent).sort()) === w, want);
    } catch (e) {
      fail("filter", `code ${code}: shown ${await page.evaluate(listed)}, expected ${want}`);
    }
    await stale();
    await page.locator("a.clear").click();
    await page.waitForFunction(() => !/code=/.test(location.hash));
    await settled(page);
  });

  const inc = withEvidence;
  await step(`clicking incident ${inc.id} shows its diagnosis`, async () => {
    await page.locator("ul.incidents a.incident-link", { hasText: inc.id }).first().click();
    await page.waitForFunction((id) => location.hash === `#/incidents/${encodeURIComponent(id)}`, inc.id);
    const cause = page.locator(".cause-line .badge.cause");
    await cause.waitFor();
    const shown = (await cause.innerText()).trim();
    if (shown !== inc.diagnosis.cause) fail("incident", `cause shown ${JSON.stringify(shown)}, the API says ${inc.diagnosis.cause}`);
    const summary = (await page.locator(".diagnosis .summary").innerText()).trim();
    if (summary !== inc.diagnosis.summary.trim()) fail("incident", `summary shown ${JSON.stringify(summary)}`);
  });

  await step("the incident's evidence names its source file and line", async () => {
    const rows = page.locator("tr.evidence");
    await rows.first().waitFor();
    const shown = await rows.evaluateAll((trs) => trs.map((tr) => ({
      source: tr.querySelector("code.source").getAttribute("title"),
      shown: tr.querySelector("code.source").textContent,
      line: Number(tr.querySelector("td.line").textContent.replace(/,/g, "")),
    })));
    const want = inc.diagnosis.evidence.filter((e) => e.source && e.line > 0);
    for (const e of want) {
      const file = e.source.split("/").pop();
      if (!shown.some((s) => s.source === e.source && s.shown === file && s.line === e.line)) {
        fail("evidence", `${e.source}:${e.line} is not shown (shown: ${JSON.stringify(shown)})`);
      }
    }
    for (const sel of ["ul.reasons li", "ol.remediation li"]) {
      if (!(await page.locator(sel).count())) fail("evidence", `nothing in ${sel}`);
    }
    await page.waitForFunction(() => document.querySelectorAll("#chart-incident svg path.series").length > 0);
    const max = Number(await page.locator("#chart-incident svg").getAttribute("data-max"));
    if (!(max > 0)) fail("incident chart", `the chart of the incident's scope shows no request (data-max ${max}): api/v1/series with its route or host answered only zeros`);
  });
  await page.screenshot({ path: join(outdir, "incident.png"), fullPage: true });

  await step("the alerts page makes a silence through the form and expires it", async () => {
    await page.locator("header nav a[data-view=alerts]").click();
    await page.locator("#silence-form").waitFor();
    await settled(page);
    const comment = `browser check ${Date.now()}`;
    await page.locator("#silence-matchers").fill('host="browser-check.example"\nalertname="dashboard"');
    await page.locator("#silence-duration").fill("1h");
    await page.locator("#silence-author").fill("browser-check");
    await page.locator("#silence-comment").fill(comment);
    await page.locator("#silence-token").fill(token || "");
    await page.locator("#silence-form button[type=submit]").click();
    if (!token) {
      // Without the admin token the API refuses, and the page says why.
      const msg = page.locator("#silence-form .form-message.error");
      await msg.waitFor();
      const text = await msg.innerText();
      if (!/token|disabled/i.test(text)) fail("silence", `the refusal says ${JSON.stringify(text)}`);
      // The browser logs the 401 or 403 it was answered: expected here, and only that.
      const refused = (p) => /status of 40[13]/.test(p) && p.includes("api/v1/silences");
      problems.splice(0, problems.length, ...problems.filter((p) => !refused(p)));
      return;
    }
    const row = page.locator("tr.silence", { hasText: comment });
    await row.waitFor();
    const state = (await row.locator(".badge").first().innerText()).trim();
    if (state !== "active") fail("silence", `the new silence is ${state}`);
    const matchers = await row.locator("code.chip").allInnerTexts();
    if (!matchers.includes('host="browser-check.example"')) fail("silence", `matchers shown: ${matchers}`);
    const stored = (await api("api/v1/silences")).silences.find((s) => s.comment === comment);
    if (!stored || stored.state !== "active") fail("silence", `the API has ${JSON.stringify(stored)}`);
    if (await page.evaluate(() => window.localStorage.getItem("faultline.token")) !== token) {
      fail("silence", "the token was not kept in localStorage");
    }
    await row.locator("button.expire").click();
    await page.waitForFunction((c) => [...document.querySelectorAll("tr.silence")].some((tr) =>
      tr.textContent.includes(c) && tr.querySelector(".badge").textContent.trim() === "expired"), comment);
    const after = (await api("api/v1/silences")).silences.find((s) => s.comment === comment);
    if (after.state !== "expired") fail("silence", `after expire the API says ${after.state}`);
  });

  await step("the inputs page lists the files", async () => {
    await page.locator("header nav a[data-view=inputs]").click();
    await page.locator("table.inputs-table tbody tr.input").first().waitFor();
    const paths = await page.locator("table.inputs-table code.path").allInnerTexts();
    const want = (await api("api/v1/inputs")).inputs.map((i) => i.path);
    for (const p of want) if (!paths.includes(p)) fail("inputs", `${p} is not listed (${paths})`);
    const lines = await page.locator("table.inputs-table tbody tr.input").first().locator("td.num").first().innerText();
    if (!/^\d[\d,]*$/.test(lines.trim())) fail("inputs", `lines shown as ${JSON.stringify(lines)}`);
  });

  await step("back to the overview", async () => {
    await page.locator("header nav a[data-view=overview]").click();
    await page.waitForFunction(() => document.querySelectorAll("#chart-requests svg path.series").length > 0);
    await page.waitForFunction(() => / live/.test(document.getElementById("status").textContent));
    await csp("overview");
  });

  if (process.env.CHECK_LIVE === "1") {
    // The caller appends lines when told (test_dashboard.py): the page shows them without
    // a reload, through the live stream.
    await step("new lines show up without a reload", async () => {
      const requests = () => page.evaluate(() => {
        const stat = [...document.querySelectorAll(".stat")].find((s) => s.querySelector(".label").textContent === "Requests");
        return stat ? Number(stat.querySelector(".value").textContent.replace(/,/g, "")) : null;
      });
      const before = await requests();
      if (!(before > 0)) fail("live", `the requests total shows ${before}`);
      await page.evaluate(() => { window.__notReloaded = true; });
      console.log("LIVE: append lines now");
      await page.waitForFunction((n) => {
        const stat = [...document.querySelectorAll(".stat")].find((s) => s.querySelector(".label").textContent === "Requests");
        return stat && Number(stat.querySelector(".value").textContent.replace(/,/g, "")) > n;
      }, before, { timeout: 15_000 });
      if (!(await page.evaluate(() => window.__notReloaded))) fail("live", "the page was reloaded");
    });
  }
}

async function authRun(page, csp) {
  if (!token) fail("setup", "--auth needs the TOKEN argument");
  const r = await fetch(new URL("api/v1/status", BASE));
  if (r.status !== 401) fail("setup", `GET api/v1/status without a token answered ${r.status}, not 401`);

  await step("without a token the page asks for one", async () => {
    await page.goto(BASE, { waitUntil: "domcontentloaded" });
    await page.locator("#tokenbar").waitFor({ state: "visible" });
    await page.locator("main p.error").first().waitFor();
    const msg = await page.locator("main p.error").first().innerText();
    if (!/token/i.test(msg)) fail("auth", `the error shown is ${JSON.stringify(msg)}`);
    // The browser logs every 401 it was answered: expected until the token is given.
    const unauthorized = (p) => /status of 401/.test(p);
    if (problems.some((p) => !unauthorized(p))) assertClean("before the token");
    problems.length = 0;
  });

  await step("with the token everything loads, live updates included", async () => {
    await page.locator("#tokeninput").fill(token);
    await page.locator("#tokenform button[type=submit]").click();
    await page.locator("#tokenbar").waitFor({ state: "hidden" });
    await page.waitForFunction(() => document.querySelectorAll("#chart-requests svg path.series").length > 0);
    await page.waitForSelector("ul.incidents li a.incident-link");
    await page.waitForFunction(() => / live/.test(document.getElementById("status").textContent));
    // A 401 of the live stream's retry may have been logged before the token was given.
    problems.splice(0, problems.length, ...problems.filter((p) => !(/status of 401/.test(p) && p.includes("api/v1/events"))));
    assertClean("after the token");
  });

  await step("after a reload the token is remembered", async () => {
    await page.reload({ waitUntil: "domcontentloaded" });
    await page.waitForFunction(() => document.querySelectorAll("#chart-requests svg path.series").length > 0);
    await page.locator("header nav a[data-view=inputs]").click();
    await page.locator("table.inputs-table tbody tr.input").first().waitFor();
    if (await page.locator("#tokenbar").isVisible()) fail("auth", "the token bar is shown again");
    await csp("after the reload");
  });
}

async function xssRun(page, csp) {
  const incidents = (await api("api/v1/incidents?limit=1000")).incidents;
  if (!incidents.length) fail("setup", "the API lists no incident: the payload logs made none");
  const seen = [];

  const visit = async (hash, ready, shot) => {
    await page.evaluate((h) => {
      document.querySelector("main").setAttribute("data-state", "stale");
      location.hash = h;
    }, hash);
    await page.waitForFunction(ready);
    await settled(page);
    await page.waitForTimeout(100);
    seen.push(await page.evaluate(() => document.body.innerText));
    if (shot) await page.screenshot({ path: join(outdir, shot), fullPage: true });
    await noXss(page, hash);
    await csp(hash);
  };

  await step("overview with payloads in the logs", async () => {
    await page.goto(BASE, { waitUntil: "domcontentloaded" });
    await page.waitForFunction(() => document.querySelectorAll("#chart-requests svg path.series").length > 0);
    await page.waitForSelector("ul.incidents li a.incident-link");
    await page.waitForTimeout(200);
    seen.push(await page.evaluate(() => document.body.innerText));
    await page.screenshot({ path: join(outdir, "xss-overview.png"), fullPage: true });
    await noXss(page, "overview");
  });
  for (const [n, inc] of incidents.entries()) {
    await step(`incident ${inc.id}`, () => visit(`#/incidents/${encodeURIComponent(inc.id)}`,
      () => !!document.querySelector(".cause-line .badge.cause"), n ? null : "xss-incident.png"));
  }
  for (const inc of incidents) {
    for (const key of ["hosts", "routes", "upstreams"]) {
      const v = (inc.scope[key] || [])[0];
      if (!v) continue;
      const param = key.slice(0, -1);
      await step(`overview filtered by ${param} ${JSON.stringify(v).slice(0, 40)}`, () =>
        visit(`#/?${new URLSearchParams({ [param]: v })}`,
          () => document.querySelectorAll("#chart-requests svg path.series, #chart-requests svg text.empty").length > 0));
    }
  }
  await step("alerts page", () => visit("#/alerts", () => !!document.querySelector("#silence-form"), "xss-alerts.png"));
  await step("inputs page", () => visit("#/inputs", () => !!document.querySelector("table.inputs-table tbody tr")));
  await step("a page name made of a payload", () => visit(`#/${encodeURIComponent('<img src=x onerror="window.__xss=1">')}`,
    () => /Not found/.test(document.body.innerText)));
  await step("each payload shows as text, as the API gives it", async () => {
    const all = seen.join("\n");
    const missing = PAYLOADS.filter((p) => !all.includes(p));
    if (missing.length) fail("payloads", `not shown literally: ${missing.map((m) => JSON.stringify(m)).join(", ")}`);
    // Every text of the API that the pages show and that carries a payload, exactly.
    const report = await api("api/v1/report");
    const texts = [];
    for (const i of incidents) {
      const d = i.diagnosis;
      texts.push(...i.scope.hosts, ...i.scope.routes, ...i.scope.upstreams, d.summary, ...d.reasons,
        ...d.remediation, ...d.evidence.map((e) => e.text));
    }
    texts.push(...report.top.routes.slice(0, 10).map((r) => r.route), ...report.error_groups.slice(0, 15).map((g) => g.title));
    const alerts = await api("api/v1/alerts");
    for (const a of [...alerts.active, ...alerts.alerts]) texts.push(...Object.values(a.labels || {}), a.details && a.details.summary);
    const wanted = [...new Set(texts.filter((t) => typeof t === "string" && t.includes("__xss")))];
    if (!wanted.length) fail("payloads", "the API gives no text with a payload: the logs did not make it in");
    const absent = wanted.filter((t) => !all.includes(t));
    if (absent.length) fail("payloads", `the API's texts not shown as they are: ${absent.map((t) => JSON.stringify(t)).join(", ")}`);
  });
}

const started = Date.now();
run().then(() => {
  console.log(`check.mjs --${mode}: ${passed} passed, 0 failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}, (e) => {
  console.error(`FAIL ${e.message}`);
  if (problems.length) console.error(`page errors so far:\n  ${problems.join("\n  ")}`);
  console.log(`check.mjs --${mode}: ${passed} passed, 1 failed`);
  process.exit(1);
});
