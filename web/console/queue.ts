// The queue page: every message with its recipients' state, attempts, next attempt and last reply;
// filters (state, domain, sender, age) sent to GET /api/v1/queue; the actions on one message or on the
// checked ones; Clear Host Assignments for all; a message's headers and source (?source=1).

import {
  api, button, el, enc, fmtAge, fmtBytes, fmtTime, messageOf, page, plural, query, say, select, showSource,
} from "./util";

interface Recipient { address: string; state: string; attempts: number; next_attempt?: number; last_error?: string; }
interface Queued {
  id: string; from: string; arrived: number; size: number; held: boolean; recipients: Recipient[];
  problem?: string; source?: string;
}

const PAGE = 100;
const ACTIONS: [string, string][] = [["retry", "Retry now"], ["hold", "Hold"], ["release", "Release"],
  ["bounce", "Bounce"], ["delete", "Delete"]];
const CONFIRM: Record<string, string> = { delete: "Delete", bounce: "Bounce (a failure notice goes to the sender)" };

export async function queuePage(): Promise<void> {
  const state = select("queue-state", "State", [["", "any"], ["queued", "queued"], ["held", "held"],
    ["delivered", "delivered"], ["failed", "failed"]]);
  const domain = el("input", { id: "queue-domain", name: "domain", type: "text", autocomplete: "off", placeholder: "far.example" });
  const sender = el("input", { id: "queue-sender", name: "sender", type: "text", autocomplete: "off", placeholder: "bob@example.test" });
  const age = select("queue-age", "Older than", [["", "any age"], ["300", "5 minutes"], ["3600", "1 hour"],
    ["14400", "4 hours"], ["86400", "1 day"]]);
  const apply = el("button", { type: "submit", id: "queue-apply" }, "Filter");
  const filters = el("form", { class: "card filters", id: "queue-filters", novalidate: "" },
    el("div", { class: "row" }, state.box,
      el("div", { class: "field" }, el("label", { for: "queue-domain" }, "Recipient domain"), domain, el("span", { class: "error" })),
      el("div", { class: "field" }, el("label", { for: "queue-sender" }, "Sender"), sender, el("span", { class: "error" })),
      age.box, apply));

  const all = el("input", { type: "checkbox", id: "queue-all" });
  const selected = el("span", { class: "muted", id: "queue-selected" }, "none selected");
  const bulk = el("div", { class: "row toolbar", id: "queue-bulk", role: "group", "aria-label": "Act on the selected messages" },
    el("label", { for: "queue-all", class: "inline" }, all, "all shown"), selected, ...ACTIONS.map(([a, label]) => button(label, { class: `bulk-${a}${a === "delete" ? " danger" : ""}`, "data-action": a },
      () => void onSelection(a, label))));
  const clear = button("Clear Host Assignments", { id: "queue-retry-all", title: "Route every message again and try it now (held ones stay held)" },
    () => void act("/api/v1/queue/retry", "Every message will be tried again now."));
  const refresh = button("Refresh", { id: "queue-refresh" }, () => void load());
  const total = el("span", { class: "muted", id: "queue-total" });
  const prev = button("Previous", { id: "queue-prev" }, () => { offset = Math.max(0, offset - PAGE); void load(); });
  const next = button("Next", { id: "queue-next" }, () => { offset += PAGE; void load(); });
  const pager = el("div", { class: "row toolbar pager" }, prev, next);
  const tbody = el("tbody", { id: "queue-body" });
  const table = el("table", { id: "queue", class: "list" }, el("thead", {}, el("tr", {},
    el("th", { scope: "col", class: "pick" }, el("span", { class: "sr" }, "Select")), ...["Id", "From", "Recipients", "Arrived", ""].map((h) => el("th", { scope: "col" }, h)))), tbody);
  page("Queue", filters, el("div", { class: "row toolbar" }, clear, refresh, total), bulk, table,
    pager);

  let offset = 0;
  let shown: Queued[] = [];
  const boxes = () => [...tbody.querySelectorAll<HTMLInputElement>("input.pick")];
  const picked = () => boxes().filter((b) => b.checked).map((b) => b.value);
  const updateSelection = () => {
    const n = picked().length;
    selected.textContent = n ? `${plural(n, "message")} selected` : "none selected";
    for (const b of bulk.querySelectorAll("button")) b.disabled = n === 0;
    all.disabled = boxes().length === 0;
    all.checked = n > 0 && n === boxes().length;
  };
  all.addEventListener("change", () => { for (const b of boxes()) b.checked = all.checked; updateSelection(); });

  const act = async (path: string, done: string) => {
    try { await api("POST", path); say(done); } catch (e) { say(messageOf(e)); }
    await load();
  };
  async function onSelection(action: string, label: string): Promise<void> {
    const ids = picked();
    if (!ids.length) return;
    if (CONFIRM[action] && !confirm(`${CONFIRM[action]}: ${plural(ids.length, "message")}?`)) return;
    const failed: string[] = [];
    for (const id of ids) {
      try { await api("POST", `/api/v1/queue/${enc(id)}/${action}`); } catch (e) { failed.push(`${id}: ${messageOf(e)}`); }
    }
    say(failed.length ? `${label}: ${failed.join("; ")}` : `${label}: ${plural(ids.length, "message")}.`);
    await load();
  }

  const row = (m: Queued): HTMLTableRowElement => {
    const rcpts = el("ul", { class: "rcpts plain" }, ...m.recipients.map((r) => el("li", {},
      el("span", { class: "rcpt" }, r.address), " ", el("strong", { class: `state state-${r.state}` }, r.state),
      el("span", { class: "muted" }, ` ${plural(r.attempts, "attempt")}`,
        r.next_attempt && r.state === "queued" ? `, next ${fmtTime(r.next_attempt)}` : ""),
      r.last_error ? el("span", { class: "error last-error" }, r.last_error) : null)));
    const id = enc(m.id);
    const actions = el("td", { class: "actions" });
    const one = (action: string, label: string, cls = "") => actions.append(button(label,
      { class: `${cls} act-${action}`.trim(), "aria-label": `${label} ${m.id}` }, () => {
        if (CONFIRM[action] && !confirm(`${CONFIRM[action]}: message ${m.id}?`)) return;
        void act(`/api/v1/queue/${id}/${action}`, `${label}: ${m.id}`);
      }));
    actions.append(button("Show", { class: "act-show", "aria-label": `Show ${m.id}` }, () => void show(m.id)));
    if (m.held) one("release", "Release"); else one("hold", "Hold");
    if (!m.held) one("retry", "Retry now");
    one("bounce", "Bounce");
    one("delete", "Delete", "danger");
    const pick = el("input", { type: "checkbox", class: "pick", value: m.id, "aria-label": `Select ${m.id}` });
    pick.addEventListener("change", updateSelection);
    return el("tr", { "data-id": m.id, "data-held": String(m.held) },
      el("td", { class: "pick" }, pick),
      el("td", { "data-label": "Id" }, el("code", {}, m.id), m.held ? el("span", { class: "badge" }, "held") : null,
        m.problem ? el("span", { class: "error" }, m.problem) : null),
      el("td", { "data-label": "From", class: "from" }, m.from || "<>"), el("td", { "data-label": "Recipients" }, rcpts),
      el("td", { "data-label": "Arrived" }, fmtTime(m.arrived), el("span", { class: "muted" }, ` (${fmtAge(m.arrived)} ago, ${fmtBytes(m.size)})`)),
      actions);
  };

  async function load(): Promise<void> {
    const q = query({ state: state.input.value, domain: domain.value.trim(), sender: sender.value.trim(),
      min_age: age.input.value, limit: PAGE, offset });
    const keep = new Set(picked());
    const { data, headers } = await api<Queued[]>("GET", `/api/v1/queue${q}`);
    shown = data;
    const count = Number(headers.get("X-Total-Count") ?? data.length);
    total.textContent = count > data.length ? `${offset + 1}-${offset + data.length} of ${count} messages`
      : plural(count, "message");
    prev.disabled = offset === 0;
    next.disabled = offset + data.length >= count;
    pager.hidden = prev.disabled && next.disabled;
    if (!data.length) {
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: "6", class: "muted" }, "No message in the queue matches.")));
    } else {
      tbody.replaceChildren(...shown.map(row));
      for (const b of boxes()) b.checked = keep.has(b.value);
    }
    updateSelection();
  }
  filters.addEventListener("submit", (ev) => { ev.preventDefault(); offset = 0; void load(); });
  await load();
}

async function show(id: string): Promise<void> {
  let m: Queued;
  try { m = (await api<Queued>("GET", `/api/v1/queue/${enc(id)}?source=1`)).data; }
  catch (e) { say(messageOf(e)); return; }
  const facts = el("dl", { class: "facts" },
    el("dt", {}, "From"), el("dd", {}, m.from || "<>"),
    el("dt", {}, "Arrived"), el("dd", {}, fmtTime(m.arrived)),
    el("dt", {}, "Size"), el("dd", {}, fmtBytes(m.size)),
    el("dt", {}, "Held"), el("dd", {}, m.held ? "yes" : "no"),
    ...m.recipients.flatMap((r) => [el("dt", {}, r.address),
      el("dd", {}, `${r.state}, ${plural(r.attempts, "attempt")}`, r.next_attempt ? `, next ${fmtTime(r.next_attempt)}` : "",
        r.last_error ? "; last reply: " : "", r.last_error ? el("span", { class: "error last-error" }, r.last_error) : null)]));
  showSource(`Message ${m.id}`, m.source, [facts]);
}
