// Small SVG charts for the dashboard. No library and no network: each function clears its
// container and draws into a new <svg> sized to the container's current width, so a
// re-render after a resize or a refresh is the same call again.

const SVG = "http://www.w3.org/2000/svg";

export const PALETTE = [
  "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];

// -- formatting ------------------------------------------------------------------------

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export const fmt = {
  int: (v) => integer.format(v),
  compact: (v) => compact.format(v),
  pct: (v) => `${(v * 100).toFixed(1)}%`,
  ms: (v) => (v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)} s` : `${Math.round(v)} ms`),
  day: (iso) => new Date(`${iso}T00:00:00Z`).toLocaleDateString("en-US", {
    month: "short", day: "numeric", timeZone: "UTC",
  }),
  weekday: (iso) => new Date(`${iso}T00:00:00Z`).toLocaleDateString("en-US", {
    weekday: "short", month: "short", day: "numeric", timeZone: "UTC",
  }),
};

// -- building blocks ---------------------------------------------------------------------

export function node(name, attrs = {}, parent = null, text = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) element.setAttribute(key, String(value));
  }
  if (text !== null) element.textContent = text;
  if (parent) parent.append(element);
  return element;
}

function tooltip(parent, text) {
  node("title", {}, parent, text);
}

function canvas(container, height, label) {
  container.replaceChildren();
  const width = Math.max(260, Math.floor(container.clientWidth));
  const svg = node("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label, class: "chart-svg",
  });
  container.append(svg);
  return { svg, width };
}

function empty(container, height, label, message) {
  const { svg, width } = canvas(container, height, label);
  node("text", { x: width / 2, y: height / 2, class: "empty", "text-anchor": "middle" }, svg, message);
}

// Tick values 0..top for a linear axis, on a 1-2-2.5-5 grid, about `count` of them.
export function niceTicks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => s >= raw);
  const top = Math.ceil(max / step - 1e-9) * step;
  const ticks = [];
  for (let i = 0; i * step <= top + step / 2; i += 1) ticks.push(i * step);
  return ticks;
}

// Fits `text` into about `px` pixels of 12px sans-serif.
function clip(text, px) {
  const room = Math.max(3, Math.floor(px / 6.6));
  return text.length <= room ? text : `${text.slice(0, room - 1)}…`;
}

// -- charts ------------------------------------------------------------------------------

/**
 * Stacked bars per day, with an optional line on a 0..100% right-hand axis.
 *
 * opts: {dates, stacks: [{name, color, values}], line: {name, color, values (0..1 or null)},
 *        label, format (value -> text), describe (index -> tooltip text)}
 */
export function dailyBars(container, opts) {
  const height = 240;
  const { dates, stacks, line } = opts;
  const totals = dates.map((_, i) => stacks.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  if (!dates.length || !totals.some((t) => t > 0)) {
    empty(container, height, opts.label, "No activity in this window");
    return;
  }
  const { svg, width } = canvas(container, height, opts.label);
  const m = { left: 52, right: line ? 48 : 14, top: 12, bottom: 28 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const ticks = niceTicks(Math.max(...totals));
  const top = ticks[ticks.length - 1];
  const y = (v) => m.top + plotH - (v / top) * plotH;
  const band = plotW / dates.length;
  const barW = Math.max(1, Math.min(36, band * 0.72));

  const grid = node("g", { class: "grid" }, svg);
  for (const t of ticks) {
    node("line", { x1: m.left, x2: width - m.right, y1: y(t), y2: y(t) }, grid);
    node("text", { x: m.left - 8, y: y(t) + 4, "text-anchor": "end", class: "tick" }, grid, fmt.compact(t));
  }

  const every = Math.ceil(dates.length / Math.max(2, Math.floor(plotW / 70)));
  const axis = node("g", { class: "axis" }, svg);
  dates.forEach((d, i) => {
    if ((dates.length - 1 - i) % every !== 0) return; // keep today labelled
    node("text", { x: m.left + band * (i + 0.5), y: height - 8, "text-anchor": "middle", class: "tick" },
      axis, fmt.day(d));
  });

  const bars = node("g", { class: "bars" }, svg);
  dates.forEach((_, i) => {
    let base = 0;
    const x = m.left + band * i + (band - barW) / 2;
    for (const s of stacks) {
      const v = s.values[i] || 0;
      if (v > 0) {
        node("rect", { x, y: y(base + v), width: barW, height: Math.max(0.5, y(base) - y(base + v)),
          fill: s.color, class: "bar" }, bars);
      }
      base += v;
    }
  });

  if (line) {
    const present = line.values.filter((v) => v !== null && v !== undefined);
    const low = present.length ? Math.max(0, Math.floor((Math.min(...present) - 0.05) * 10) / 10) : 0;
    const yl = (v) => m.top + plotH - ((v - low) / (1 - low)) * plotH;
    const right = node("g", { class: "axis" }, svg);
    for (const t of [low, (low + 1) / 2, 1]) {
      node("text", { x: width - m.right + 8, y: yl(t) + 4, class: "tick" }, right, `${Math.round(t * 100)}%`);
    }
    // Days without calls have no rate: the line breaks there instead of dropping to 0.
    let d = "";
    let pen = "M";
    line.values.forEach((v, i) => {
      if (v === null || v === undefined) {
        pen = "M";
        return;
      }
      d += `${pen}${(m.left + band * (i + 0.5)).toFixed(1)},${yl(v).toFixed(1)}`;
      pen = "L";
    });
    node("path", { d, fill: "none", stroke: line.color, "stroke-width": 2, class: "line" }, svg);
    if (dates.length <= 62) {
      line.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        node("circle", { cx: m.left + band * (i + 0.5), cy: yl(v), r: 2.5, fill: line.color, class: "dot" }, svg);
      });
    }
  }

  // One invisible hit area per day carries that day's tooltip.
  const hits = node("g", { class: "hits" }, svg);
  dates.forEach((_, i) => {
    const hit = node("rect", { x: m.left + band * i, y: m.top, width: band, height: plotH, fill: "transparent" },
      hits);
    tooltip(hit, opts.describe(i));
  });
}

/** Horizontal bars: rows [{label, value, text, color}], largest first. */
export function hbars(container, rows, opts) {
  const rowH = 26;
  const height = Math.max(60, rows.length * rowH + 8);
  if (!rows.length) {
    empty(container, 80, opts.label, "Nothing yet");
    return;
  }
  const { svg, width } = canvas(container, height, opts.label);
  const labelW = Math.min(150, Math.floor(width * 0.38));
  const valueW = 64;
  const plotW = width - labelW - valueW - 8;
  const max = Math.max(...rows.map((r) => r.value), 1);
  rows.forEach((r, i) => {
    const g = node("g", { class: "row" }, svg);
    const cy = 4 + i * rowH + rowH / 2;
    node("text", { x: labelW - 8, y: cy + 4, "text-anchor": "end", class: "label" }, g, clip(r.label, labelW - 8));
    node("rect", { x: labelW, y: cy - 7, width: plotW, height: 14, rx: 3, class: "track" }, g);
    node("rect", { x: labelW, y: cy - 7, width: Math.max(2, (r.value / max) * plotW), height: 14, rx: 3,
      fill: r.color || PALETTE[0], class: "bar" }, g);
    node("text", { x: width - 4, y: cy + 4, "text-anchor": "end", class: "value" }, g, r.text);
    tooltip(g, r.title || `${r.label}: ${r.text}`);
  });
}

/**
 * Duration percentiles per tool on a log scale: a solid bar to p50 and a lighter one on to p95.
 * rows: [{label, p50, p95, title}]
 */
export function durations(container, rows, opts) {
  const rowH = 24;
  const top = 22;
  const height = Math.max(80, top + rows.length * rowH + 6);
  if (!rows.length) {
    empty(container, 80, opts.label, "No tool calls in this window");
    return;
  }
  const { svg, width } = canvas(container, height, opts.label);
  const labelW = Math.min(140, Math.floor(width * 0.3));
  const valueW = 118;
  const plotW = width - labelW - valueW - 10;
  const fastest = Math.max(1, Math.min(...rows.map((r) => r.p50)));
  const lo = 10 ** Math.floor(Math.log10(fastest));
  const hi = Math.max(...rows.map((r) => r.p95), lo * 10) * 1.15;
  const decades = [];
  for (let v = lo; v <= hi; v *= 10) decades.push(v);
  const x = (v) => labelW + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;

  const grid = node("g", { class: "grid" }, svg);
  for (const d of decades) {
    node("line", { x1: x(d), x2: x(d), y1: top - 4, y2: height - 4 }, grid);
    node("text", { x: x(d), y: 12, "text-anchor": "middle", class: "tick" }, grid, fmt.ms(d));
  }
  rows.forEach((r, i) => {
    const g = node("g", { class: "row" }, svg);
    const cy = top + i * rowH + rowH / 2;
    node("text", { x: labelW - 8, y: cy + 4, "text-anchor": "end", class: "label" }, g, clip(r.label, labelW - 8));
    node("rect", { x: labelW, y: cy - 6, width: Math.max(2, x(r.p95) - labelW), height: 12, rx: 2,
      fill: opts.color, opacity: 0.3, class: "bar p95" }, g);
    node("rect", { x: labelW, y: cy - 6, width: Math.max(2, x(r.p50) - labelW), height: 12, rx: 2,
      fill: opts.color, class: "bar p50" }, g);
    node("text", { x: width - 4, y: cy + 4, "text-anchor": "end", class: "value" }, g,
      `${fmt.ms(r.p50)} · ${fmt.ms(r.p95)}`);
    tooltip(g, r.title);
  });
}

/** A donut with a legend: rows [{label, value, color}]. */
export function donut(container, rows, opts) {
  const height = 180;
  const total = rows.reduce((sum, r) => sum + r.value, 0);
  if (!total) {
    empty(container, height, opts.label, "No memories yet");
    return;
  }
  const { svg, width } = canvas(container, height, opts.label);
  // The legend needs about 130 px beside the ring; the ring takes what is left.
  const r = Math.max(48, Math.min(70, (width - 130) / 2 - 8));
  const inner = r * 0.63;
  const cx = r + 6;
  const cy = height / 2;
  let angle = -Math.PI / 2;
  const point = (a, radius) => `${(cx + radius * Math.cos(a)).toFixed(2)},${(cy + radius * Math.sin(a)).toFixed(2)}`;
  for (const row of rows) {
    if (!row.value) continue;
    // A full circle cannot be one arc: stop just short of it.
    const sweep = Math.min(row.value / total, 0.99999) * 2 * Math.PI;
    const end = angle + sweep;
    const large = sweep > Math.PI ? 1 : 0;
    const d = `M${point(angle, r)}A${r},${r} 0 ${large} 1 ${point(end, r)}`
      + `L${point(end, inner)}A${inner},${inner} 0 ${large} 0 ${point(angle, inner)}Z`;
    const slice = node("path", { d, fill: row.color, class: "slice" }, svg);
    tooltip(slice, `${row.label}: ${fmt.int(row.value)} (${fmt.pct(row.value / total)})`);
    angle = end;
  }
  node("text", { x: cx, y: cy + 2, "text-anchor": "middle", class: "donut-total" }, svg, fmt.compact(total));
  node("text", { x: cx, y: cy + 18, "text-anchor": "middle", class: "tick" }, svg, "memories");
  const legendX = cx + r + 18;
  rows.forEach((row, i) => {
    const ly = cy - (rows.length * 22) / 2 + i * 22 + 11;
    const g = node("g", { class: "legend-row" }, svg);
    node("rect", { x: legendX, y: ly - 6, width: 10, height: 10, rx: 2, fill: row.color }, g);
    node("text", { x: legendX + 16, y: ly + 3, class: "label" }, g, row.label);
    node("text", { x: width - 4, y: ly + 3, "text-anchor": "end", class: "value" }, g, fmt.int(row.value));
  });
}

/** An HTML legend: items [{name, color, kind: "box"|"line"}]. */
export function legend(container, items) {
  container.replaceChildren(...items.map((item) => {
    const entry = document.createElement("span");
    entry.className = `key key-${item.kind || "box"}`;
    const swatch = document.createElement("i");
    swatch.style.background = item.color;
    entry.append(swatch, document.createTextNode(item.name));
    return entry;
  }));
}
