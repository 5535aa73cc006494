"use strict";
// accelsim replay timeline: every signal of a trace drawn from its exact intervals.
// Each pixel column shows what happened over exactly its cycles (state fractions, or the
// minimum, mean and maximum of a value); zoomed in to under a cycle per column, intervals are
// drawn one by one. Wheel: zoom at the pointer; drag: pan; hover: values at a cycle;
// keys: space play/pause, left/right previous/next tile, +/- zoom, 0 whole run.
window.addEventListener("error", (e) => {
  document.body.dataset.errors = (document.body.dataset.errors || "") + e.message + (e.error ? " " + e.error.stack : "") + "\n";
});

const DATA = JSON.parse(document.getElementById("trace-data").textContent);
const ROW = { band: 22, state: 26, value: 38, axis: 26, gap: 4 };
const LABEL_W = 190;

function decode(b64, type) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return type === "i4" ? new Int32Array(bytes.buffer) : new Float64Array(bytes.buffer);
}

function loadSignal(s) {
  const deltas = decode(s.starts, s.starts_type);
  const starts = new Float64Array(deltas.length);
  let at = 0;
  for (let i = 0; i < deltas.length; i++) { at += deltas[i]; starts[i] = at; }
  return { ...s, starts, values: decode(s.values, s.values_type) };
}

const SIGNALS = DATA.signals.map(loadSignal);
const BY_NAME = Object.fromEntries(SIGNALS.map((s) => [s.name, s]));

// Index of the interval holding `cycle`: the last start <= cycle.
function at(sig, cycle) {
  let lo = 0, hi = sig.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (sig.starts[mid] <= cycle) lo = mid; else hi = mid - 1;
  }
  return lo;
}

function valueAt(sig, cycle) { return sig.values[at(sig, cycle)]; }

function intervalEnd(sig, k) { return k + 1 < sig.starts.length ? sig.starts[k + 1] : DATA.stop; }

// Per-column aggregates of `sig` over [lo, hi) cut at integer `edges`.
function aggregate(sig, edges) {
  const columns = edges.length - 1;
  const states = sig.states.length;
  const out = {
    sum: new Float64Array(columns),
    min: new Float64Array(columns).fill(Infinity),
    max: new Float64Array(columns).fill(-Infinity),
    counts: states ? new Float64Array(columns * states) : null,
  };
  const lo = edges[0], hi = edges[columns];
  let col = 0;
  for (let k = at(sig, lo); k < sig.starts.length && sig.starts[k] < hi; k++) {
    let s = Math.max(sig.starts[k], lo);
    const e = Math.min(intervalEnd(sig, k), hi);
    const v = sig.values[k];
    while (s < e) {
      while (edges[col + 1] <= s) col++;
      const ce = Math.min(e, edges[col + 1]);
      out.sum[col] += v * (ce - s);
      if (v < out.min[col]) out.min[col] = v;
      if (v > out.max[col]) out.max[col] = v;
      if (states) out.counts[col * states + v] += ce - s;
      s = ce;
    }
  }
  return out;
}

const view = { lo: DATA.start, hi: DATA.stop, cursor: DATA.start, playing: false, hover: null };
const canvas = document.getElementById("timeline");
const tip = document.getElementById("tip");
const status = document.getElementById("status");

function rows() {
  const list = [{ kind: "band", h: ROW.band }];
  for (const s of SIGNALS) {
    if (s.name === DATA.layer_signal) continue;
    list.push({ kind: s.states.length ? "state" : "value", h: s.states.length ? ROW.state : ROW.value, sig: s });
  }
  list.push({ kind: "axis", h: ROW.axis });
  let y = 0;
  for (const r of list) { r.y = y; y += r.h + ROW.gap; }
  return { list, height: y };
}
const LAYOUT = rows();

function plotWidth() { return canvas.clientWidth - LABEL_W - 12; }
function xOf(cycle) { return LABEL_W + ((cycle - view.lo) / (view.hi - view.lo)) * plotWidth(); }
function cycleOf(x) { return Math.floor(view.lo + ((x - LABEL_W) / plotWidth()) * (view.hi - view.lo)); }

function edgesFor(columns) {
  const edges = new Float64Array(columns + 1);
  for (let j = 0; j <= columns; j++) edges[j] = view.lo + Math.floor((j * (view.hi - view.lo)) / columns);
  return edges;
}

function fmtCycles(c) { return Math.round(c).toLocaleString("en-US"); }
function fmtTime(c) {
  const s = c / DATA.clock_hz;
  for (const [f, u] of [[1, "s"], [1e3, "ms"], [1e6, "µs"]]) if (s * f >= 1) return (s * f).toPrecision(4) + " " + u;
  return (s * 1e9).toPrecision(4) + " ns";
}

function drawLabel(ctx, r, text, sub) {
  ctx.fillStyle = "#222";
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  ctx.fillText(text, 8, r.y + r.h / 2 - (sub ? 6 : 0));
  if (sub) { ctx.fillStyle = "#777"; ctx.font = "10px system-ui, sans-serif"; ctx.fillText(sub, 8, r.y + r.h / 2 + 7); }
}

function drawExact(ctx, r, sig) {
  // Fewer cycles than columns: every interval is a rectangle of its own.
  for (let k = at(sig, view.lo); k < sig.starts.length && sig.starts[k] < view.hi; k++) {
    const x0 = xOf(Math.max(sig.starts[k], view.lo)), x1 = xOf(Math.min(intervalEnd(sig, k), view.hi));
    const v = sig.values[k];
    if (sig.states.length) {
      ctx.fillStyle = sig.colors[sig.states[v]] || "#999";
      ctx.fillRect(x0, r.y, Math.max(x1 - x0, 1), r.h);
    } else {
      const h = sig.max > 0 ? (v / sig.max) * r.h : 0;
      ctx.fillStyle = sig.color;
      ctx.fillRect(x0, r.y + r.h - h, Math.max(x1 - x0, 1), h);
    }
  }
}

function drawColumns(ctx, r, sig, edges) {
  const agg = aggregate(sig, edges);
  const n = edges.length - 1, w = plotWidth() / n;
  for (let j = 0; j < n; j++) {
    const width = edges[j + 1] - edges[j];
    if (!width) continue;
    const x = LABEL_W + j * w;
    if (sig.states.length) {
      let y = r.y + r.h;
      for (let s = 0; s < sig.states.length; s++) {
        const h = (agg.counts[j * sig.states.length + s] / width) * r.h;
        if (!h) continue;
        ctx.fillStyle = sig.colors[sig.states[s]] || "#999";
        ctx.fillRect(x, y - h, w + 0.5, h);
        y -= h;
      }
    } else if (sig.max > 0) {
      const top = (v) => r.y + r.h - (v / sig.max) * r.h;
      ctx.fillStyle = sig.band;
      ctx.fillRect(x, top(agg.max[j]), w + 0.5, top(agg.min[j]) - top(agg.max[j]) + 1);
      ctx.fillStyle = sig.color;
      ctx.fillRect(x, top(agg.sum[j] / width), w + 0.5, r.y + r.h - top(agg.sum[j] / width));
    }
  }
}

function drawBand(ctx, r) {
  const sig = BY_NAME[DATA.layer_signal];
  drawLabel(ctx, r, "layer");
  for (let k = at(sig, view.lo); k < sig.starts.length && sig.starts[k] < view.hi; k++) {
    const x0 = xOf(Math.max(sig.starts[k], view.lo)), x1 = xOf(Math.min(intervalEnd(sig, k), view.hi));
    const layer = sig.values[k];
    ctx.fillStyle = layer % 2 ? "#dfe7f2" : "#c9d6ea";
    ctx.fillRect(x0, r.y, Math.max(x1 - x0, 1), r.h);
    const name = DATA.layers[layer] ?? String(layer);
    ctx.font = "11px system-ui, sans-serif";
    if (ctx.measureText(name).width + 6 < x1 - x0) {
      ctx.fillStyle = "#223";
      ctx.fillText(name, x0 + 3, r.y + r.h / 2);
    }
  }
}

function drawAxis(ctx, r) {
  const span = view.hi - view.lo, step = Math.pow(10, Math.floor(Math.log10(Math.max(span / 6, 1))));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 8);
  ctx.strokeStyle = "#888";
  ctx.fillStyle = "#444";
  ctx.font = "11px system-ui, sans-serif";
  ctx.beginPath(); ctx.moveTo(LABEL_W, r.y); ctx.lineTo(LABEL_W + plotWidth(), r.y); ctx.stroke();
  for (let c = Math.ceil(view.lo / nice) * nice; c <= view.hi; c += nice) {
    const x = xOf(c);
    ctx.beginPath(); ctx.moveTo(x, r.y); ctx.lineTo(x, r.y + 5); ctx.stroke();
    const width = ctx.measureText(fmtCycles(c)).width;
    ctx.fillText(fmtCycles(c), Math.min(x - width / 2, LABEL_W + plotWidth() - width), r.y + 15);
  }
  drawLabel(ctx, r, "cycle", "clock " + (DATA.clock_hz / 1e9).toPrecision(3) + " GHz");
}

function draw() {
  const dpr = window.devicePixelRatio || 1;
  canvas.style.height = LAYOUT.height + "px";
  canvas.width = Math.round(canvas.clientWidth * dpr);
  canvas.height = Math.round(LAYOUT.height * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, canvas.clientWidth, LAYOUT.height);
  const columns = Math.max(1, Math.floor(plotWidth()));
  const edges = view.hi - view.lo > columns ? edgesFor(columns) : null;
  for (const r of LAYOUT.list) {
    if (r.kind === "band") drawBand(ctx, r);
    else if (r.kind === "axis") drawAxis(ctx, r);
    else {
      ctx.fillStyle = "#fff";
      ctx.fillRect(LABEL_W, r.y, plotWidth(), r.h);
      if (edges) drawColumns(ctx, r, r.sig, edges); else drawExact(ctx, r, r.sig);
      drawLabel(ctx, r, r.sig.name, r.sig.states.length ? "" : "0 to " + r.sig.max.toLocaleString("en-US") + " " + r.sig.unit);
    }
  }
  if (view.cursor >= view.lo && view.cursor < view.hi) {
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(xOf(view.cursor), 0); ctx.lineTo(xOf(view.cursor), LAYOUT.height - ROW.axis); ctx.stroke();
  }
  status.textContent = `window ${fmtCycles(view.lo)} to ${fmtCycles(view.hi)} (${fmtCycles(view.hi - view.lo)} cycles, ${fmtTime(view.hi - view.lo)})   cursor ${fmtCycles(view.cursor)}`;
  document.body.dataset.status = "rendered";
}

function describe(cycle) {
  const lines = [`cycle ${fmtCycles(cycle)}  (${fmtTime(cycle)})`];
  const layer = valueAt(BY_NAME[DATA.layer_signal], cycle);
  lines.push(`layer ${layer + 1}/${DATA.layers.length}: ${DATA.layers[layer] ?? layer}`);
  for (const s of SIGNALS) {
    if (s.name === DATA.layer_signal) continue;
    const v = valueAt(s, cycle);
    lines.push(`${s.name.padEnd(16)} ${s.states.length ? s.states[v] : v.toLocaleString("en-US") + " " + s.unit}`);
  }
  return lines.join("\n");
}

function setWindow(lo, hi) {
  const span = Math.max(1, Math.min(hi - lo, DATA.stop - DATA.start));
  lo = Math.min(Math.max(Math.round(lo), DATA.start), DATA.stop - span);
  view.lo = lo;
  view.hi = lo + Math.round(span);
  draw();
}

function zoom(factor, anchor) {
  const a = anchor ?? (view.lo + view.hi) / 2;
  setWindow(a - (a - view.lo) * factor, a + (view.hi - a) * factor);
}

function stepTile(direction) {
  const sig = BY_NAME[DATA.tile_signal] || BY_NAME[DATA.layer_signal];
  const k = at(sig, view.cursor) + (direction > 0 ? 1 : sig.starts[at(sig, view.cursor)] === view.cursor ? -1 : 0);
  view.cursor = Math.min(Math.max(sig.starts[Math.min(Math.max(k, 0), sig.starts.length - 1)], DATA.start), DATA.stop - 1);
  if (view.cursor < view.lo || view.cursor >= view.hi) {
    const span = view.hi - view.lo;
    setWindow(view.cursor - span / 2, view.cursor + span / 2);
  } else draw();
}

function play() {
  view.playing = !view.playing;
  document.getElementById("play").textContent = view.playing ? "❚❚ pause" : "▶ play";
  if (view.cursor >= view.hi - 1 || view.cursor < view.lo) view.cursor = view.lo;
  let last = null;
  const tick = (t) => {
    if (!view.playing) return;
    if (last !== null) view.cursor = Math.min(view.cursor + ((t - last) / 8000) * (view.hi - view.lo), view.hi - 1);
    last = t;
    view.cursor = Math.floor(view.cursor);
    draw();
    if (view.cursor >= view.hi - 1) { view.playing = false; document.getElementById("play").textContent = "▶ play"; return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

let drag = null;
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  zoom(e.deltaY > 0 ? 1.25 : 0.8, cycleOf(e.offsetX));
}, { passive: false });
canvas.addEventListener("mousedown", (e) => { drag = { x: e.offsetX, lo: view.lo, hi: view.hi }; });
window.addEventListener("mouseup", () => { drag = null; });
canvas.addEventListener("mousemove", (e) => {
  if (drag) {
    const shift = ((drag.x - e.offsetX) / plotWidth()) * (drag.hi - drag.lo);
    setWindow(drag.lo + shift, drag.hi + shift);
  }
  if (e.offsetX < LABEL_W) { tip.style.display = "none"; return; }
  const cycle = Math.min(Math.max(cycleOf(e.offsetX), DATA.start), DATA.stop - 1);
  tip.textContent = describe(cycle);
  tip.style.display = "block";
  const right = e.offsetX + 16 + tip.offsetWidth > canvas.clientWidth;
  tip.style.left = (right ? e.offsetX - tip.offsetWidth - 12 : e.offsetX + 16) + "px";
  tip.style.top = Math.min(e.offsetY + 12, LAYOUT.height - tip.offsetHeight) + "px";
});
canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
canvas.addEventListener("click", (e) => { if (e.offsetX >= LABEL_W) { view.cursor = cycleOf(e.offsetX); draw(); } });
canvas.addEventListener("dblclick", () => setWindow(DATA.start, DATA.stop));
window.addEventListener("keydown", (e) => {
  const keys = { " ": play, ArrowRight: () => stepTile(1), ArrowLeft: () => stepTile(-1), "+": () => zoom(0.5, view.cursor),
    "=": () => zoom(0.5, view.cursor), "-": () => zoom(2, view.cursor), "0": () => setWindow(DATA.start, DATA.stop) };
  if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
});
window.addEventListener("resize", draw);
document.getElementById("play").addEventListener("click", play);
document.getElementById("prev").addEventListener("click", () => stepTile(-1));
document.getElementById("next").addEventListener("click", () => stepTile(1));
document.getElementById("zoom-in").addEventListener("click", () => zoom(0.5, view.cursor));
document.getElementById("zoom-out").addEventListener("click", () => zoom(2, view.cursor));
document.getElementById("fit").addEventListener("click", () => setWindow(DATA.start, DATA.stop));
draw();
if (location.hash === "#selftest") {
  // Drives the controls as a user would and records what they showed, for the tests.
  stepTile(1);
  stepTile(1);
  stepTile(-1);
  zoom(0.5, view.cursor);
  const shown = { cursor: view.cursor, lo: view.lo, hi: view.hi, tip: describe(view.cursor).split("\n") };
  play();
  play();
  document.body.dataset.selftest = JSON.stringify(shown);
}
