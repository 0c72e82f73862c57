// The live log: the recent lines (GET /api/v1/logs), then new ones as they come (EventSource on
// /api/v1/logs/stream, which reconnects by itself with Last-Event-ID), filtered by level, protocol and
// a queue id or address. Pause buffers up to BUFFER lines and counts the ones beyond as dropped;
// the view keeps the newest SHOWN lines and follows the end unless the reader scrolled up.

import { api, button, el, fmtTime, leaving, messageOf, page, query, select } from "./util";

interface Line { id: number; time: number; level: string; protocol: string; text: string; }

const BUFFER = 1000;
const SHOWN = 2000;
const HISTORY = 200;

export async function logsPage(): Promise<void> {
  const level = select("log-level", "Level at least", [["debug", "debug"], ["info", "info"], ["warn", "warn"], ["error", "error"]]);
  level.input.value = "info";
  const protocol = select("log-protocol", "Protocol", [["", "any"], ["smtp", "smtp"], ["submission", "submission"],
    ["imap", "imap"], ["pop3", "pop3"], ["http", "http"], ["sieve", "sieve"], ["queue", "queue"]]);
  const q = el("input", { id: "log-q", name: "q", type: "search", autocomplete: "off", placeholder: "queue id or address" });
  const apply = el("button", { type: "submit", id: "log-apply" }, "Apply");
  const form = el("form", { class: "card filters", id: "log-filters", novalidate: "" }, el("div", { class: "row" }, level.box, protocol.box,
    el("div", { class: "field" }, el("label", { for: "log-q" }, "Queue id or address"), q, el("span", { class: "error" })), apply));
  const pause = button("Pause", { id: "log-pause", "aria-pressed": "false" });
  const follow = el("input", { type: "checkbox", id: "log-follow" });
  follow.checked = true;
  const clear = button("Clear", { id: "log-clear" });
  const state = el("span", { class: "muted", id: "log-state", role: "status" }, "connecting…");
  const lines = el("div", { class: "log", id: "log-lines", role: "log", tabindex: "0", "aria-label": "Log lines" });
  page("Live log", form, el("div", { class: "row toolbar" }, pause,
    el("label", { for: "log-follow", class: "inline" }, follow, "follow the end"), clear, state), lines);

  let source: EventSource | null = null;
  let last = 0;
  let paused = false;
  let buffered: Line[] = [];
  let droppedPaused = 0;
  let droppedServer = 0;
  let live = false;

  const showState = () => {
    const parts = [paused ? `paused, ${buffered.length} buffered` : live ? "live" : "reconnecting…"];
    if (droppedPaused) parts.push(`${droppedPaused} dropped while paused`);
    if (droppedServer) parts.push(`${droppedServer} missed (the server dropped them)`);
    state.textContent = parts.join("; ");
  };
  const render = (l: Line) => el("div", { class: `line level-${l.level}`, "data-id": String(l.id) },
    el("time", {}, fmtTime(l.time).slice(11)), el("span", { class: "lvl" }, l.level),
    el("span", { class: "proto" }, l.protocol || "-"), el("span", { class: "text" }, l.text));
  const append = (batch: Line[]) => {
    if (!batch.length) return;
    lines.append(...batch.map(render));
    while (lines.childElementCount > SHOWN) lines.firstElementChild?.remove();
    if (follow.checked) lines.scrollTop = lines.scrollHeight;
  };
  const receive = (l: Line) => {
    if (l.id <= last) return;  // already shown (the history overlaps the stream's start)
    last = l.id;
    lastTime = l.time;
    if (!paused) append([l]);
    else if (buffered.length < BUFFER) buffered.push(l);
    else droppedPaused++;
    if (paused) showState();
  };

  let retry = 0;
  let lastTime = 0;
  const stop = () => { source?.close(); source = null; window.clearTimeout(retry); };
  const filters = () => ({ level: level.input.value, protocol: protocol.input.value, q: q.value.trim() });

  // The lines logged since `since` (all recent ones when 0) that are not shown yet.
  async function backfill(since: number): Promise<void> {
    try {
      const { data } = await api<{ lines: Line[] }>("GET", `/api/v1/logs${query({ ...filters(), since: since || undefined, limit: HISTORY })}`);
      for (const l of data.lines) receive(l);
    } catch (e) {
      state.textContent = messageOf(e);
    }
  }
  // EventSource reconnects by itself (with Last-Event-ID) after a network error; a refusal (a 401 after
  // the session ended, a 404) closes it for good, so then a new one is made a little later, and the
  // lines logged in between are fetched.
  function connect(): void {
    source = new EventSource(`/api/v1/logs/stream${query(filters())}`);
    source.addEventListener("open", () => { live = true; showState(); });
    source.addEventListener("error", () => {
      live = false;
      showState();
      if (source?.readyState === EventSource.CLOSED) {
        state.textContent = "disconnected; trying again in 5 s";
        retry = window.setTimeout(() => { stop(); void backfill(lastTime).then(connect); }, 5000);
      }
    });
    source.addEventListener("log", (ev) => {
      try { receive(JSON.parse((ev as MessageEvent).data) as Line); } catch { /* not a line: ignored */ }
    });
    source.addEventListener("dropped", (ev) => {
      try { droppedServer += (JSON.parse((ev as MessageEvent).data) as { count: number }).count; } catch { /* ignored */ }
      showState();
    });
  }
  async function start(): Promise<void> {
    stop();
    lines.replaceChildren();
    last = lastTime = 0;
    buffered = [];
    droppedPaused = droppedServer = 0;
    await backfill(0);
    connect();
  }

  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
    if (!paused) { append(buffered); buffered = []; }
    showState();
  });
  lines.addEventListener("scroll", () => {
    follow.checked = lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 24;
  });
  follow.addEventListener("change", () => { if (follow.checked) lines.scrollTop = lines.scrollHeight; });
  clear.addEventListener("click", () => lines.replaceChildren());
  form.addEventListener("submit", (ev) => { ev.preventDefault(); void start(); });
  leaving.push(stop);
  await start();
}
