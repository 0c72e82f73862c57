// Mail the server holds apart: the quarantine (GET /api/v1/quarantine; show, release, delete) and
// lost+found (files Tern could not read: GET /api/v1/lost-found; show, requeue, delete).

import {
  Child, api, apiText, button, el, enc, fmtAge, fmtBytes, fmtTime, messageOf, page, plural, say, searchBox, showSource,
} from "./util";

interface Held { id: string; held: number; why: string; from: string; recipients: string[]; client: string; size: number; problem?: string; }
interface Lost { name: string; size: number; time: number; why: string; source?: string; }

interface Action<T> { verb: string; label: string; confirm?: string; cls?: string; done: (t: T, answer: unknown) => string; }

interface HeldSpec<T> {
  title: string; id: string; path: string; empty: string; intro: string;
  key: (t: T) => string;
  columns: [string, (t: T) => Child][];
  list: (offset: number) => Promise<{ items: T[]; total: number }>;
  show: (t: T) => Promise<void>;
  actions: Action<T>[];
}

const PAGE = 100;

async function heldPage<T>(s: HeldSpec<T>): Promise<void> {
  const tbody = el("tbody", { id: `${s.id}-body` });
  const table = el("table", { id: s.id, class: "list" }, el("thead", {}, el("tr", {},
    ...[...s.columns.map((c) => c[0]), ""].map((h) => el("th", { scope: "col" }, h)))), tbody);
  const total = el("span", { class: "muted", id: `${s.id}-total` });
  const search = searchBox(`${s.id}-search`, `Search ${s.title.toLowerCase()}`, () => [...tbody.rows]);
  const refresh = button("Refresh", { id: `${s.id}-refresh` }, () => void load());
  const prev = button("Previous", {}, () => { offset = Math.max(0, offset - PAGE); void load(); });
  const next = button("Next", {}, () => { offset += PAGE; void load(); });
  const pager = el("div", { class: "row toolbar pager" }, prev, next);
  page(s.title, el("p", { class: "muted intro" }, s.intro), el("div", { class: "row toolbar" }, refresh, total, search.box), table,
    pager);
  let offset = 0;

  async function load(): Promise<void> {
    const { items, total: count } = await s.list(offset);
    total.textContent = count > items.length ? `${offset + 1}-${offset + items.length} of ${count}` : plural(count, "item");
    prev.disabled = offset === 0;
    next.disabled = offset + items.length >= count;
    pager.hidden = prev.disabled && next.disabled;
    if (!items.length) {
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: String(s.columns.length + 1), class: "muted" }, s.empty)));
      return;
    }
    tbody.replaceChildren(...items.map((t) => {
      const key = s.key(t);
      const actions = el("td", { class: "actions" },
        button("Show", { class: "act-show", "aria-label": `Show ${key}` }, () => void s.show(t).catch((e) => say(messageOf(e)))));
      for (const a of s.actions) {
        actions.append(button(a.label, { class: `${a.cls ?? ""} act-${a.verb}`.trim(), "aria-label": `${a.label} ${key}` }, async () => {
          if (a.confirm && !confirm(`${a.confirm} ${key}?`)) return;
          try { const { data } = await api("POST", `${s.path}/${enc(key)}/${a.verb}`); say(a.done(t, data)); }
          catch (e) { say(messageOf(e)); }
          await load();
        }));
      }
      return el("tr", { "data-id": key }, ...s.columns.map(([label, cell]) => el("td", { "data-label": label }, cell(t))), actions);
    }));
    search.apply();
  }
  await load();
}

export const quarantinePage = () => heldPage<Held>({
  title: "Quarantine", id: "quarantine", path: "/api/v1/quarantine", empty: "Nothing is quarantined.",
  intro: "Messages a filter held back (an executable attachment, a virus, a spam score). Release delivers one without the filters.",
  key: (h) => h.id,
  columns: [
    ["Held", (h) => el("span", {}, fmtTime(h.held), el("span", { class: "muted" }, ` (${fmtAge(h.held)} ago)`))],
    ["From", (h) => h.from || "<>"],
    ["To", (h) => el("ul", { class: "plain" }, ...h.recipients.map((r) => el("li", {}, r)))],
    ["Why", (h) => el("span", { class: "why" }, h.why, h.problem ? el("span", { class: "error" }, h.problem) : null)],
    ["Size", (h) => fmtBytes(h.size)],
  ],
  list: async () => {
    const { data } = await api<Held[]>("GET", "/api/v1/quarantine");
    return { items: data, total: data.length };
  },
  show: async (h) => {
    const source = await apiText(`/api/v1/quarantine/${enc(h.id)}?source=1`);
    showSource(`Quarantined ${h.id}`, source, [el("dl", { class: "facts" },
      el("dt", {}, "Why"), el("dd", {}, h.why), el("dt", {}, "Client"), el("dd", {}, h.client),
      el("dt", {}, "From"), el("dd", {}, h.from || "<>"), el("dt", {}, "To"), el("dd", {}, h.recipients.join(", ")))]);
  },
  actions: [
    { verb: "release", label: "Release", confirm: "Deliver without the filters:", done: (h) => `Released ${h.id}.` },
    { verb: "delete", label: "Delete", confirm: "Delete", cls: "danger", done: (h) => `Deleted ${h.id}.` },
  ],
});

export const lostFoundPage = () => heldPage<Lost>({
  title: "Lost+found", id: "lost", path: "/api/v1/lost-found", empty: "Nothing in lost+found.",
  intro: "Files Tern could not read (mail/lost+found/), each with why. Tern never deletes them; Requeue puts one back into the queue.",
  key: (l) => l.name,
  columns: [
    ["Name", (l) => el("code", {}, l.name)],
    ["Found", (l) => fmtTime(l.time)],
    ["Why", (l) => el("span", { class: "why" }, l.why)],
    ["Size", (l) => fmtBytes(l.size)],
  ],
  list: async (offset) => {
    const { data, headers } = await api<{ items: Lost[] }>("GET", `/api/v1/lost-found?limit=${PAGE}&offset=${offset}`);
    return { items: data.items, total: Number(headers.get("X-Total-Count") ?? data.items.length) };
  },
  show: async (l) => {
    const { data } = await api<Lost>("GET", `/api/v1/lost-found/${enc(l.name)}`);
    showSource(`Lost+found ${l.name}`, data.source, [el("dl", { class: "facts" }, el("dt", {}, "Why"), el("dd", {}, data.why),
      el("dt", {}, "Found"), el("dd", {}, fmtTime(data.time)), el("dt", {}, "Size"), el("dd", {}, fmtBytes(data.size)))]);
  },
  actions: [
    { verb: "requeue", label: "Requeue", done: (l, a) => `Requeued ${l.name} as ${(a as { id?: string } | null)?.id ?? "a new message"}.` },
    { verb: "delete", label: "Delete", confirm: "Delete for good", cls: "danger", done: (l) => `Deleted ${l.name}.` },
  ],
});
