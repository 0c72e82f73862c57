// The directory pages: domains, users, aliases and archives. Each is a list with a search box, a form
// to add one (the API's error beside the field it names), Edit where the API can change one (users:
// PATCH password, quota, enabled, admin; aliases: PATCH targets) and Delete after a confirmation.

import {
  Child, Field, api, button, checkbox, dialog, el, enc, field, fmtBytes, messageOf, page, parseBytes, say, searchBox,
  showApiError, showError,
} from "./util";

interface User { address: string; admin: boolean; quota: number | null; enabled?: boolean; }
interface Alias { address: string; targets: string[]; }
interface Domain { name: string; }
interface Archive { address: string; }

interface AddField { name: string; label: string; type: string; autocomplete?: string; }

interface ListSpec<T> {
  title: string;          // "Users"
  one: string;            // "user": ids (#user-form, #user-address ...) and labels
  path: string;           // "/api/v1/users"
  key: (t: T) => string;  // the name in the path of DELETE and PATCH
  keyLabel: string;       // "Address": the first column
  columns: [string, (t: T) => Child][];
  add: AddField[];
  addCheck?: { name: string; label: string };
  body: (values: Record<string, string>, checked: boolean) => Record<string, unknown>;
  deleteNote?: string;
  edit?: (t: T, reload: () => Promise<void>) => void;
  show?: { label: string; run: (t: T) => void };  // one more button before Edit (domains: DNS records)
}

const splitTargets = (text: string) => text.split(/[\s,;]+/).filter(Boolean);

async function listPage<T>(s: ListSpec<T>): Promise<void> {
  const fields: Field[] = s.add.map((f) => field(`${s.one}-${f.name}`, f.label, f.type, f.autocomplete ?? "off", f.name));
  const check = s.addCheck ? checkbox(`${s.one}-${s.addCheck.name}`, s.addCheck.label) : null;
  const submit = el("button", { type: "submit", class: "primary", id: `${s.one}-add` }, `Add ${s.one}`);
  const formError = el("p", { class: "error", id: `${s.one}-form-error`, "aria-live": "polite" });
  const form = el("form", { class: "card", id: `${s.one}-form`, novalidate: "" }, el("h2", {}, `Add a ${s.one}`),
    el("div", { class: "row" }, ...fields.map((f) => f.box), check?.box, submit), formError);
  const tbody = el("tbody", { id: `${s.title.toLowerCase()}-body` });
  const table = el("table", { id: s.title.toLowerCase(), class: "list" },
    el("thead", {}, el("tr", {}, ...[s.keyLabel, ...s.columns.map((c) => c[0]), ""].map((h) => el("th", { scope: "col" }, h)))),
    tbody);
  const search = searchBox(`${s.one}-search`, `Search ${s.title.toLowerCase()}`, () => [...tbody.rows]);
  const count = el("span", { class: "muted count", id: `${s.one}-count` });
  page(s.title, form, el("div", { class: "row toolbar" }, el("h2", {}, s.title), count, search.box), table);

  const load = async (): Promise<void> => {
    const { data } = await api<T[]>("GET", s.path);
    count.textContent = `${data.length}`;
    if (!data.length) {
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: String(s.columns.length + 2), class: "muted" }, `No ${s.title.toLowerCase()} yet.`)));
      return;
    }
    tbody.replaceChildren(...data.map((t) => {
      const name = s.key(t);
      const actions = el("td", { class: "actions" });
      if (s.show) {
        const show = s.show;
        actions.append(button(show.label, { class: "act-show", "aria-label": `${show.label} of ${name}` }, () => show.run(t)));
      }
      if (s.edit) {
        const edit = button("Edit", { class: "act-edit", "aria-label": `Edit ${name}` }, () => s.edit?.(t, load));
        actions.append(edit);
      }
      actions.append(button("Delete", { class: "danger act-delete", "aria-label": `Delete ${name}` }, async () => {
        if (!confirm(`Delete ${name}?${s.deleteNote ? " " + s.deleteNote : ""}`)) return;
        try { await api("DELETE", `${s.path}/${enc(name)}`); say(`Deleted ${name}.`); await load(); }
        catch (e) { say(messageOf(e)); }
      }));
      return el("tr", { "data-key": name },
        el("td", { "data-label": s.keyLabel, class: "key address" }, name),
        ...s.columns.map(([label, cell]) => el("td", { "data-label": label }, cell(t))), actions);
    }));
    search.apply();
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    formError.textContent = "";
    const values: Record<string, string> = {};
    let ok = true;
    for (const f of fields) {
      values[f.name] = f.input.value.trim();
      let problem = values[f.name] ? "" : `Enter the ${f.name}.`;
      if (!problem && f.input.type === "email" && !values[f.name].includes("@")) problem = "An address is local-part@domain.";
      showError(f, problem);
      if (problem) ok = false;
    }
    if (!ok) { fields.find((f) => f.input.getAttribute("aria-invalid") === "true")?.input.focus(); return; }
    submit.disabled = true;
    try {
      await api("POST", s.path, s.body(values, check?.input.checked ?? false));
      say(`Added ${values[s.add[0].name]}.`);
      for (const f of fields) f.input.value = "";
      if (check) check.input.checked = false;
      await load();
      fields[0].input.focus();
    } catch (e) {
      showApiError(fields, fields[0], e);
    } finally {
      submit.disabled = false;
    }
  });
  await load();
}

// An edit dialog: the fields, Save (Enter submits), the API's error beside the field it names.
function editDialog(title: string, id: string, fields: Field[], extra: HTMLElement[],
                    body: () => Record<string, unknown> | null, path: string, reload: () => Promise<void>): void {
  const save = el("button", { type: "submit", class: "primary", id: `${id}-save` }, "Save");
  const formError = el("p", { class: "error", id: `${id}-form-error`, "aria-live": "polite" });
  const form = el("form", { id: `${id}-form`, novalidate: "" }, ...fields.map((f) => f.box), ...extra, save, formError);
  const d = dialog(title, form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    for (const f of fields) showError(f, "");
    formError.textContent = "";
    const b = body();
    if (!b) return;
    save.disabled = true;
    try {
      await api("PATCH", path, b);
      d.close();
      say(`Saved ${title.replace(/^Edit /, "")}.`);
      await reload();
    } catch (e) {
      showApiError(fields, formError, e);
    } finally {
      save.disabled = false;
    }
  });
  fields[0]?.input.focus();
}

// A size in the largest unit that holds it exactly ("10M", "1536K"), so that reading it back gives the
// same number and an untouched field changes nothing.
function exactBytes(n: number): string {
  for (const [unit, size] of [["T", 1024 ** 4], ["G", 1024 ** 3], ["M", 1024 ** 2], ["K", 1024]] as [string, number][])
    if (n % size === 0) return `${n / size}${unit}`;
  return String(n);
}

function editUser(u: User, reload: () => Promise<void>): void {
  const password = field("edit-password", "New password (empty: unchanged)", "password", "new-password", "password");
  const quota = field("edit-quota", "Quota (e.g. 500M, 2G; empty: the default)", "text", "off", "quota");
  quota.input.value = u.quota ? exactBytes(u.quota) : "";
  const enabled = checkbox("edit-enabled", "enabled (may log in and receive mail)");
  enabled.input.checked = u.enabled !== false;
  const admin = checkbox("edit-admin", "administrator");
  admin.input.checked = u.admin;
  const body = () => {
    const b: Record<string, unknown> = {};
    if (password.input.value) b.password = password.input.value;
    const q = parseBytes(quota.input.value);
    if (Number.isNaN(q)) { showError(quota, "A quota is a number of bytes, or with K, M, G or T."); return null; }
    if (q !== (u.quota || null)) b.quota = q;
    if (enabled.input.checked !== (u.enabled !== false)) b.enabled = enabled.input.checked;
    if (admin.input.checked !== u.admin) b.admin = admin.input.checked;
    return b;
  };
  editDialog(`Edit ${u.address}`, "edit-user", [password, quota], [enabled.box, admin.box], body,
    `/api/v1/users/${enc(u.address)}`, reload);
}

function editAlias(a: Alias, reload: () => Promise<void>): void {
  const targets = field("edit-targets", "Targets (separated by spaces or commas)", "text", "off", "targets");
  targets.input.value = a.targets.join(", ");
  const body = () => {
    const t = splitTargets(targets.input.value);
    if (!t.length) { showError(targets, "An alias needs at least one target."); return null; }
    return { targets: t };
  };
  editDialog(`Edit ${a.address}`, "edit-alias", [targets], [], body, `/api/v1/aliases/${enc(a.address)}`, reload);
}

interface DnsRecord { type: string; name: string; value: string; zone: string; }

// The records a domain should publish, one per line in zone-file form, ready to paste.
async function showDns(d: Domain): Promise<void> {
  try {
    const { data } = await api<{ domain: string; records: DnsRecord[] }>("GET", `/api/v1/domains/${enc(d.name)}/dns`);
    const dkim = data.records.some((r) => r.name.includes("._domainkey."));
    dialog(`DNS records of ${data.domain}`,
      el("p", {}, "Publish these in the domain's zone (MX, SPF, DKIM, DMARC, and SRV for mail programs)."),
      ...(dkim ? [] : [el("p", { class: "error" }, `No DKIM key yet: tern dkim generate ${data.domain}`)]),
      el("pre", { class: "source dns-records" }, data.records.map((r) => r.zone).join("\n")));
  } catch (e) {
    say(messageOf(e));
  }
}

export const domainsPage = () => listPage<Domain>({
  title: "Domains", one: "domain", path: "/api/v1/domains", key: (d) => d.name, keyLabel: "Name", columns: [],
  add: [{ name: "name", label: "Domain name", type: "text" }],
  body: (v) => ({ name: v.name }),
  deleteNote: "Only a domain without users, aliases or archives can go.",
  show: { label: "DNS records", run: (d) => void showDns(d) },
});

export const usersPage = () => listPage<User>({
  title: "Users", one: "user", path: "/api/v1/users", key: (u) => u.address, keyLabel: "Address",
  columns: [
    ["Role", (u) => u.admin ? "administrator" : "user"],
    ["Quota", (u) => u.quota ? fmtBytes(u.quota) : "default"],
    ["State", (u) => u.enabled === false ? el("strong", { class: "state state-failed" }, "disabled") : "enabled"],
  ],
  add: [{ name: "address", label: "Address", type: "email" },
        { name: "password", label: "Password", type: "password", autocomplete: "new-password" }],
  addCheck: { name: "admin", label: "administrator" },
  body: (v, admin) => ({ address: v.address, password: v.password, admin }),
  deleteNote: "Its mail is moved to mail/deleted/.",
  edit: editUser,
});

export const aliasesPage = () => listPage<Alias>({
  title: "Aliases", one: "alias", path: "/api/v1/aliases", key: (a) => a.address, keyLabel: "Address",
  columns: [["Targets", (a) => el("ul", { class: "plain" }, ...a.targets.map((t) => el("li", {}, t)))]],
  add: [{ name: "address", label: "Address", type: "email" },
        { name: "targets", label: "Targets (spaces or commas between)", type: "text" }],
  body: (v) => ({ address: v.address, targets: splitTargets(v.targets) }),
  edit: editAlias,
});

export const archivesPage = () => listPage<Archive>({
  title: "Archives", one: "archive", path: "/api/v1/archives", key: (a) => a.address, keyLabel: "Address",
  columns: [],
  add: [{ name: "address", label: "Address", type: "email" }],
  body: (v) => ({ address: v.address }),
  deleteNote: "Its mail is moved to mail/deleted/.",
});
