// The dashboard: GET /api/v1/stats drawn by hand as inline SVG bar charts (one per series, bars as
// <rect> with a <title>; colours from classes, since the CSP allows no inline style), the queue, open
// connections, disk, lost+found and the last errors. The page is laid out before the numbers arrive
// (empty charts, "…" figures) so nothing moves when they do; it refreshes itself every 15 s.

import { api, button, el, fmtBytes, fmtTime, leaving, messageOf, page, statusOf, svg } from "./util";

interface Stats {
  range: string; step: number; end: number;
  series: Record<string, number[]>;
  queue: { messages: number };
  connections: Record<string, number>;
  disk: { free: number; total: number };
  lost_found: number;
  last_errors: { time: number; text: string }[];
}

const SERIES: [string, string][] = [["received", "Received"], ["delivered", "Delivered"], ["deferred", "Deferred"],
  ["bounced", "Bounced"], ["rejected", "Rejected"], ["junk", "Junk"], ["quarantined", "Quarantined"]];
const RANGES: [string, string][] = [["hour", "Last hour"], ["day", "Last day"], ["month", "Last month"]];
const W = 240;
const H = 64;
let range = "hour";

interface Chart { fig: HTMLElement; plot: SVGElement; total: HTMLElement; max: HTMLElement; from: HTMLElement; to: HTMLElement; }

function chart(key: string, label: string): Chart {
  const plot = svg("g", { class: "bars" });
  const total = el("span", { class: "total" }, "…");
  const max = el("span", { class: "max" });
  const from = el("span");
  const to = el("span");
  const drawing = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": `${label} over time` },
    svg("line", { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: "axis" }), plot);
  const fig = el("figure", { class: `chart series-${key}`, "data-series": key },
    el("figcaption", {}, el("span", { class: "name" }, label), total), max, drawing, el("div", { class: "times" }, from, to));
  return { fig, plot, total, max, from, to };
}

function label(unix: number, r: string): string {
  const t = fmtTime(unix);
  return r === "month" ? t.slice(5, 10) : t.slice(11, 16);
}

function draw(c: Chart, values: number[], s: Stats): void {
  const n = values.length || 1;
  const top = Math.max(1, ...values);
  const w = W / n;
  const sum = values.reduce((a, b) => a + b, 0);
  c.fig.setAttribute("data-total", String(sum));
  c.total.textContent = String(sum);
  c.max.textContent = !sum ? "none" : `max ${top} per ${s.step >= 86400 ? "day" : s.step >= 900 ? `${s.step / 60} min` : "minute"}`;
  c.plot.replaceChildren(...values.map((v, i) => {
    const h = v ? Math.max(1.5, (v / top) * (H - 4)) : 0;
    const start = s.end - (n - i) * s.step;
    return svg("rect", { x: (i * w + w * 0.12).toFixed(2), y: (H - h).toFixed(2), width: (w * 0.76).toFixed(2), height: h.toFixed(2) },
      svg("title", {}, document.createTextNode(`${fmtTime(start)} UTC: ${v}`)));
  }));
  c.from.textContent = label(s.end - n * s.step, s.range);
  c.to.textContent = `${label(s.end, s.range)} UTC`;
}

export async function dashboardPage(): Promise<void> {
  const stats = el("div", { class: "stats", id: "stats" });
  const card = (id: string, text: string) => {
    const n = el("span", { class: "n" }, "…");
    const sub = el("span", { class: "sub" });
    stats.append(el("div", { class: "stat", id: `stat-${id}` }, n, el("span", { class: "l" }, text), sub));
    return { n, sub };
  };
  const queue = card("queue", "messages in the queue");
  const held = card("held", "held");
  const failed = card("failed", "failed recipients");
  const conns = card("connections", "open connections");
  const disk = card("disk", "disk free");
  const lost = card("lost", "in lost+found");
  const users = card("users", "users");

  const rangeButtons = RANGES.map(([r, text]) => button(text, { id: `range-${r}`, "aria-pressed": String(r === range) }, () => {
    range = r;
    for (const b of rangeButtons) b.setAttribute("aria-pressed", String(b.id === `range-${r}`));
    void refresh();
  }));
  const charts = new Map(SERIES.map(([k, l]) => [k, chart(k, l)]));
  const note = el("p", { class: "muted note", id: "charts-note" });
  const errors = el("ol", { class: "errors plain", id: "last-errors" }, el("li", { class: "muted" }, "…"));
  page("Dashboard", stats,
    el("div", { class: "row toolbar" }, el("h2", {}, "Mail over time"),
      el("div", { class: "segmented", role: "group", "aria-label": "Time range" }, ...rangeButtons)),
    note, el("div", { class: "charts", id: "charts" }, ...[...charts.values()].map((c) => c.fig)),
    el("h2", {}, "Last errors"), errors);

  const count = async (state: string) => {
    const { headers } = await api<unknown[]>("GET", `/api/v1/queue?limit=1${state ? `&state=${state}` : ""}`);
    return headers.get("X-Total-Count") ?? "?";
  };

  async function refresh(): Promise<void> {
    const [h, f, u] = await Promise.all([count("held"), count("failed"), api<unknown[]>("GET", "/api/v1/users")]);
    held.n.textContent = h;
    failed.n.textContent = f;
    users.n.textContent = String(u.data.length);
    let s: Stats;
    try {
      s = (await api<Stats>("GET", `/api/v1/stats?range=${range}`)).data;
    } catch (e) {
      queue.n.textContent = await count("");
      for (const c of [conns, disk, lost]) c.n.textContent = "–";
      for (const c of charts.values()) c.total.textContent = "–";
      note.textContent = statusOf(e) === 404 ? "Graphs, connections, disk and lost+found need GET /api/v1/stats, which this server does not offer."
        : messageOf(e);
      errors.replaceChildren(el("li", { class: "muted" }, "–"));
      return;
    }
    note.textContent = "";
    queue.n.textContent = String(s.queue.messages);
    const open = Object.entries(s.connections);
    conns.n.textContent = String(open.reduce((a, [, v]) => a + v, 0));
    conns.sub.textContent = open.map(([k, v]) => `${k} ${v}`).join(", ");
    disk.n.textContent = fmtBytes(s.disk.free);
    disk.sub.textContent = s.disk.total ? `of ${fmtBytes(s.disk.total)} (${Math.round((100 * s.disk.free) / s.disk.total)}%)` : "";
    disk.n.parentElement?.classList.toggle("warn", s.disk.total > 0 && s.disk.free / s.disk.total < 0.1);
    lost.n.textContent = String(s.lost_found);
    lost.n.parentElement?.classList.toggle("warn", s.lost_found > 0);
    for (const [k, c] of charts) draw(c, s.series[k] ?? [], s);
    errors.replaceChildren(...(s.last_errors.length ? s.last_errors.map((e) =>
      el("li", {}, el("time", { class: "muted" }, fmtTime(e.time)), " ", el("span", { class: "error-text" }, e.text)))
      : [el("li", { class: "muted" }, "No errors or warnings logged recently.")]));
  }

  const timer = window.setInterval(() => void refresh().catch(() => undefined), 15000);
  leaving.push(() => window.clearInterval(timer));
  await refresh();
}
