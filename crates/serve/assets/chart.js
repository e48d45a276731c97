"use strict";
// Time-series charts in SVG for the dashboard: stacked areas and lines over a time axis,
// with tick labels, a legend, a hover read-out and drag-to-zoom. Everything is built with
// createElementNS and textContent: no markup strings, nothing from the data runs.
(function () {
  const NS = "http://www.w3.org/2000/svg";

  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (parent) parent.appendChild(e);
    return e;
  }

  function html(tag, cls, text, parent) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (parent) parent.appendChild(e);
    return e;
  }

  const pad2 = (n) => String(n).padStart(2, "0");

  // Times are shown in UTC, like the logs' own offsets in the API.
  function clock(t, seconds) {
    const d = new Date(t * 1000);
    const hm = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
    return seconds ? `${hm}:${pad2(d.getUTCSeconds())}` : hm;
  }

  function day(t) {
    const d = new Date(t * 1000);
    return `${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  }

  function stamp(t) {
    const d = new Date(t * 1000);
    return `${d.getUTCFullYear()}-${day(t)} ${clock(t, true)} UTC`;
  }

  // A short number: 1234 -> "1.2k".
  function short(v) {
    const a = Math.abs(v);
    if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
    if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
    if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
    if (a >= 10 || v === 0) return String(Math.round(v * 10) / 10);
    return String(+v.toPrecision(2));
  }

  // Round tick values from 0 to at least `max`.
  function valueTicks(max, count) {
    if (!(max > 0)) return [0, 1];
    const raw = max / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const ticks = [];
    for (let v = 0; v < max + step * 0.999; v += step) ticks.push(+v.toPrecision(12));
    return ticks;
  }

  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
    10800, 21600, 43200, 86400, 172800, 604800, 2592000];

  // Tick times at a round step, at most one per `minGap` pixels.
  function timeTicks(from, to, width, minGap) {
    const span = Math.max(1, to - from);
    const step = TIME_STEPS.find((s) => (span / s) * minGap <= width) || TIME_STEPS.at(-1);
    const ticks = [];
    for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
    const label = (t) => {
      if (step >= 86400) return day(t);
      if (t % 86400 === 0) return day(t);
      return clock(t, step < 60);
    };
    return { ticks, label };
  }

  // Points at a regular step with the gaps filled with zeros (a missing interval had no
  // request), so lines drop to zero instead of bridging a gap.
  function fill(points, step, from, to) {
    const out = [];
    const zero = (t) => ({ t, values: {}, zero: true });
    const sorted = points.slice().sort((a, b) => a.t - b.t);
    if (sorted.length && from !== undefined && sorted[0].t - from >= step * 1.5) {
      out.push(zero(from));
      out.push(zero(sorted[0].t - step));
    }
    sorted.forEach((p, i) => {
      if (i > 0) {
        const gap = p.t - sorted[i - 1].t;
        if (gap >= step * 1.5) {
          out.push(zero(sorted[i - 1].t + step));
          if (gap >= step * 2.5) out.push(zero(p.t - step));
        }
      }
      out.push(p);
    });
    if (sorted.length && to !== undefined && to - sorted.at(-1).t >= step * 2.5) {
      out.push(zero(sorted.at(-1).t + step));
      out.push(zero(to - step));
    }
    return out;
  }

  /**
   * Draws a chart into `container` (emptied first). opts:
   *   points: [{t: unix seconds (interval start), values: {key: count}}]
   *   series: [{key, label, cls, kind: "area" | "line"}]; areas stack in order, lines are
   *           drawn over them
   *   step: seconds per point (values are shown per second: count / step)
   *   from, to: the time axis (defaults to the points' extent)
   *   bands: [{from, to, label, cls}] shaded spans (incidents)
   *   onZoom(from, to): called after a drag across the plot
   *   height, title, unit
   * Returns {destroy(), hovering()}.
   */
  function render(container, opts) {
    container.textContent = "";
    container.classList.add("chart");
    const step = Math.max(1, opts.step || 60);
    const series = opts.series || [];
    const points = fill(opts.points || [], step, opts.from, opts.to);
    const ts = points.map((p) => p.t);
    const from = opts.from !== undefined ? opts.from : (ts.length ? Math.min(...ts) : 0);
    let to = opts.to !== undefined ? opts.to : (ts.length ? Math.max(...ts) + step : from + step);
    if (to <= from) to = from + step;

    const width = Math.max(320, Math.floor(container.clientWidth || 800));
    const height = opts.height || 220;
    const m = { left: 52, right: 14, top: 22, bottom: 26 };
    const pw = width - m.left - m.right;
    const ph = height - m.top - m.bottom;

    const rate = (p, key) => (p.values[key] || 0) / step;
    const areas = series.filter((s) => s.kind !== "line");
    const lines = series.filter((s) => s.kind === "line");
    let max = 0;
    for (const p of points) {
      let stack = 0;
      for (const s of areas) stack += rate(p, s.key);
      max = Math.max(max, stack, ...lines.map((s) => rate(p, s.key)));
    }
    const yt = valueTicks(max, 4);
    const ymax = yt.at(-1) || 1;
    const x = (t) => m.left + ((t - from) / (to - from)) * pw;
    const y = (v) => m.top + ph - (v / ymax) * ph;
    const tAt = (px) => from + ((px - m.left) / pw) * (to - from);

    const box = html("div", "chart-box", null, container);
    const svg = el("svg", {
      class: "chart-svg",
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "data-max": +max.toPrecision(6),
    }, box);
    if (opts.title) {
      svg.setAttribute("aria-label", opts.title);
      el("title", {}, svg).textContent = opts.title;
    }

    // Grid and value axis.
    const grid = el("g", { class: "grid" }, svg);
    for (const v of yt) {
      el("line", { x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }, grid);
      const label = el("text", { x: m.left - 6, y: y(v) + 4, class: "tick y" }, grid);
      label.textContent = short(v);
    }
    if (opts.unit) {
      const u = el("text", { x: 4, y: 11, class: "tick unit" }, grid);
      u.textContent = opts.unit;
    }

    // Time axis.
    const tt = timeTicks(from, to, pw, 80);
    const axis = el("g", { class: "axis" }, svg);
    el("line", { x1: m.left, x2: width - m.right, y1: m.top + ph, y2: m.top + ph }, axis);
    for (const t of tt.ticks) {
      el("line", { x1: x(t), x2: x(t), y1: m.top + ph, y2: m.top + ph + 4 }, axis);
      const label = el("text", { x: x(t), y: height - 8, class: "tick x" }, axis);
      label.textContent = tt.label(t);
    }

    // Shaded spans (incidents), clipped to the axis.
    const clipId = `clip-${Math.random().toString(36).slice(2)}`;
    const defs = el("defs", {}, svg);
    const clip = el("clipPath", { id: clipId }, defs);
    el("rect", { x: m.left, y: m.top, width: pw, height: ph }, clip);
    const plot = el("g", { "clip-path": `url(#${clipId})` }, svg);
    for (const b of opts.bands || []) {
      const x0 = x(Math.max(from, b.from));
      const x1 = x(Math.min(to, Math.max(b.to, b.from + step)));
      if (x1 <= m.left || x0 >= width - m.right) continue;
      const r = el("rect", {
        x: x0, y: m.top, width: Math.max(2, x1 - x0), height: ph, class: `band ${b.cls || ""}`,
      }, plot);
      if (b.label) el("title", {}, r).textContent = b.label;
    }

    // Values are drawn at the middle of their interval.
    const mid = (p) => x(p.t + step / 2);
    const base = points.map(() => 0);
    for (const s of areas) {
      const top = points.map((p, i) => base[i] + rate(p, s.key));
      if (points.length && top.some((v, i) => v > base[i])) {
        let d = "";
        points.forEach((p, i) => { d += `${i ? "L" : "M"}${mid(p).toFixed(1)},${y(top[i]).toFixed(1)}`; });
        for (let i = points.length - 1; i >= 0; i--) {
          d += `L${mid(points[i]).toFixed(1)},${y(base[i]).toFixed(1)}`;
        }
        el("path", { d: `${d}Z`, class: `series area ${s.cls || ""}` }, plot);
      }
      top.forEach((v, i) => { base[i] = v; });
    }
    for (const s of lines) {
      if (!points.length) continue;
      let d = "";
      points.forEach((p, i) => {
        d += `${i ? "L" : "M"}${mid(p).toFixed(1)},${y(rate(p, s.key)).toFixed(1)}`;
      });
      el("path", { d, class: `series line ${s.cls || ""}` }, plot);
    }
    if (!(max > 0)) {
      const t = el("text", { x: m.left + pw / 2, y: m.top + ph / 2, class: "empty" }, svg);
      t.textContent = opts.empty || "nothing in this range";
    }

    // Hover read-out and drag-to-zoom over a transparent overlay.
    const cursor = el("line", { class: "cursor", y1: m.top, y2: m.top + ph, x1: -10, x2: -10 }, svg);
    const sel = el("rect", { class: "selection", x: 0, y: m.top, width: 0, height: ph }, svg);
    sel.setAttribute("visibility", "hidden");
    const overlay = el("rect", {
      class: "overlay", x: m.left, y: m.top, width: pw, height: ph,
    }, svg);
    const tip = html("div", "chart-tip", null, box);
    tip.hidden = true;

    let inside = false;
    let drag = null;
    const px = (ev) => {
      const r = svg.getBoundingClientRect();
      return Math.min(width - m.right, Math.max(m.left, ev.clientX - r.left));
    };
    const nearest = (t) => {
      let best = null;
      for (const p of points) {
        if (p.zero) continue;
        if (!best || Math.abs(p.t + step / 2 - t) < Math.abs(best.t + step / 2 - t)) best = p;
      }
      return best;
    };
    const showTip = (ev) => {
      const p = nearest(tAt(px(ev)));
      if (!p) { tip.hidden = true; return; }
      cursor.setAttribute("x1", mid(p));
      cursor.setAttribute("x2", mid(p));
      tip.textContent = "";
      html("div", "tip-time", `${stamp(p.t)} (${step} s)`, tip);
      for (const s of series.slice().reverse()) {
        const row = html("div", "tip-row", null, tip);
        html("span", `swatch ${s.cls || ""}`, null, row);
        html("span", "tip-label", s.label, row);
        const n = p.values[s.key] || 0;
        html("span", "tip-value", `${n.toLocaleString("en")} (${short(n / step)}/s)`, row);
      }
      tip.hidden = false;
      const left = mid(p) + 12;
      tip.style.left = `${Math.min(left, width - tip.offsetWidth - 4)}px`;
      if (left + tip.offsetWidth > width) tip.style.left = `${Math.max(0, mid(p) - tip.offsetWidth - 12)}px`;
      tip.style.top = `${m.top}px`;
    };
    const hide = () => {
      tip.hidden = true;
      cursor.setAttribute("x1", -10);
      cursor.setAttribute("x2", -10);
    };
    overlay.addEventListener("pointerenter", () => { inside = true; });
    overlay.addEventListener("pointerleave", () => { inside = false; if (!drag) hide(); });
    overlay.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      drag = { x0: px(ev) };
      overlay.setPointerCapture(ev.pointerId);
      ev.preventDefault();
    });
    overlay.addEventListener("pointermove", (ev) => {
      if (drag) {
        const x1 = px(ev);
        sel.setAttribute("x", Math.min(drag.x0, x1));
        sel.setAttribute("width", Math.abs(x1 - drag.x0));
        sel.setAttribute("visibility", "visible");
      }
      showTip(ev);
    });
    const end = (ev) => {
      if (!drag) return;
      const x0 = drag.x0;
      const x1 = px(ev);
      drag = null;
      sel.setAttribute("visibility", "hidden");
      if (Math.abs(x1 - x0) >= 5 && opts.onZoom) {
        const a = Math.floor(tAt(Math.min(x0, x1)));
        const b = Math.ceil(tAt(Math.max(x0, x1)));
        if (b > a) opts.onZoom(a, b);
      }
    };
    overlay.addEventListener("pointerup", end);
    overlay.addEventListener("pointercancel", () => {
      drag = null;
      sel.setAttribute("visibility", "hidden");
    });

    // The legend.
    const legend = html("div", "legend", null, container);
    for (const s of series) {
      const item = html("span", "legend-item", null, legend);
      html("span", `swatch ${s.cls || ""}`, null, item);
      html("span", null, s.label, item);
    }
    if (opts.onZoom) html("span", "legend-hint", "drag across the chart to zoom", legend);

    return {
      hovering: () => inside || drag !== null,
      destroy: () => { container.textContent = ""; },
    };
  }

  window.FaultlineChart = { render, stamp, short };
})();
