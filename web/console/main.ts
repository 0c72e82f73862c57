// The administrator's console: a single page on the JSON API (docs/console.md). Every text that
// comes from the server is put in with textContent, never as HTML.

interface ApiError { status: number; code: string; message: string; }
interface User { address: string; admin: boolean; quota: number; }
interface Recipient { address: string; state: string; attempts: number; next_attempt?: number; last_error?: string; }
interface Queued { id: string; from: string; arrived: number; size: number; held: boolean; recipients: Recipient[]; problem?: string; }

let csrf = "";
const main = byId("main");
const statusLine = byId("status");

function byId(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`no #${id}`);
  return e;
}

// An element with attributes and children; strings become text nodes.
function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {},
    ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(typeof c === "string" ? document.createTextNode(c) : c);
  return e;
}

function say(text: string): void { statusLine.textContent = text; }

async function api<T>(method: string, path: string, body?: unknown): Promise<{ data: T; headers: Headers }> {
  // Without it, a 401 would offer Basic and the browser would open its own password dialog.
  const headers: Record<string, string> = { "X-Requested-With": "tern-console" };
  if (body !== undefined || method === "POST") headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const r = await fetch(path, { method, headers, credentials: "same-origin",
                                body: body === undefined ? (method === "POST" ? "{}" : undefined) : JSON.stringify(body) });
  const text = await r.text();
  let data: unknown = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!r.ok) {
    const e = (data as { error?: { code: string; message: string } } | null)?.error;
    const err: ApiError = { status: r.status, code: e?.code ?? "http", message: e?.message ?? `HTTP ${r.status}` };
    if (r.status === 401 && path !== "/api/v1/session") { csrf = ""; location.hash = "#/login"; }
    throw err;
  }
  return { data: data as T, headers: r.headers };
}

function messageOf(e: unknown): string {
  return (e as ApiError).message ?? String(e);
}

function field(id: string, label: string, type: string, autocomplete: string): { box: HTMLElement; input: HTMLInputElement; error: HTMLElement } {
  const input = el("input", { id, name: id, type, autocomplete, "aria-describedby": `${id}-error` });
  const error = el("span", { id: `${id}-error`, class: "error", "aria-live": "polite" });
  const box = el("div", { class: "field" }, el("label", { for: id }, label), input, error);
  return { box, input, error };
}

function showError(f: { input: HTMLInputElement; error: HTMLElement }, text: string): void {
  f.error.textContent = text;
  f.input.setAttribute("aria-invalid", text ? "true" : "false");
}

function page(title: string, ...children: Node[]): void {
  main.replaceChildren(el("h1", {}, title), ...children);
  document.title = `${title} · Tern console`;
  for (const a of document.querySelectorAll("nav a"))
    if (a.getAttribute("href") === location.hash) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
}

function fmtTime(unix?: number): string {
  return unix ? new Date(unix * 1000).toISOString().replace("T", " ").slice(0, 19) : "";
}

// Login --------------------------------------------------------------------------------------------

function loginPage(): void {
  byId("bar").hidden = true;
  const address = field("login-address", "Address", "email", "username");
  const password = field("login-password", "Password", "password", "current-password");
  const submit = el("button", { type: "submit", class: "primary", id: "login-submit" }, "Log in");
  const form = el("form", { class: "card login", id: "login-form", novalidate: "" }, el("h1", {}, "Tern console"), address.box, password.box, submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(address, address.input.value.includes("@") ? "" : "Enter an administrator's address.");
    showError(password, password.input.value ? "" : "Enter the password.");
    if (!address.input.value.includes("@") || !password.input.value) return;
    submit.disabled = true;
    try {
      const { data } = await api<{ address: string; csrf_token: string }>("POST", "/api/v1/session",
        { address: address.input.value, password: password.input.value });
      csrf = data.csrf_token;
      byId("who").textContent = data.address;
      const target = pages[location.hash] ? location.hash : "#/dashboard";
      if (location.hash === target) void route(); else location.hash = target;
    } catch (e) {
      showError(password, messageOf(e));
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
  document.title = "Log in · Tern console";
  address.input.focus();
}

// Dashboard ----------------------------------------------------------------------------------------

async function dashboardPage(): Promise<void> {
  const stats = el("div", { class: "stats", id: "stats" });
  const stat = (label: string, n: string) => stats.append(el("div", { class: "stat" }, el("span", { class: "n" }, n), el("span", { class: "l" }, label)));
  page("Dashboard", stats);
  const count = async (state: string) => {
    const q = state ? `?limit=1&state=${state}` : "?limit=1";
    const { headers } = await api<Queued[]>("GET", `/api/v1/queue${q}`);
    return headers.get("X-Total-Count") ?? "?";
  };
  const [all, queued, held, failed, users] = await Promise.all([count(""), count("queued"), count("held"), count("failed"),
    api<User[]>("GET", "/api/v1/users")]);
  stat("messages in the queue", all);
  stat("recipients waiting", queued);
  stat("held", held);
  stat("failed", failed);
  stat("users", String(users.data.length));
  try {
    const r = await fetch("/metrics", { credentials: "same-origin" });
    for (const line of (await r.text()).split("\n")) {
      const m = /^tern_messages_(\w+?)(?:_total)? (\d+(?:\.\d+)?)$/.exec(line);
      if (m) stat(`messages ${m[1].replace(/_/g, " ")}`, m[2]);
    }
  } catch { /* the counters are extra */ }
}

// Users --------------------------------------------------------------------------------------------

async function usersPage(): Promise<void> {
  const address = field("user-address", "Address", "email", "off");
  const password = field("user-password", "Password", "password", "new-password");
  const admin = el("input", { id: "user-admin", type: "checkbox" });
  const add = el("button", { type: "submit", class: "primary", id: "user-add" }, "Add user");
  const form = el("form", { class: "card", id: "user-form", novalidate: "" }, el("h2", {}, "Add a user"),
    el("div", { class: "row" }, address.box, password.box,
       el("div", { class: "field check" }, el("label", { for: "user-admin" }, admin, "administrator")), add));
  const tbody = el("tbody", { id: "users-body" });
  const table = el("table", { id: "users" }, el("thead", {}, el("tr", {}, el("th", {}, "Address"), el("th", {}, "Role"), el("th", {}, ""))), tbody);
  page("Users", form, el("h2", {}, "Users"), table);

  const load = async () => {
    const { data } = await api<User[]>("GET", "/api/v1/users");
    tbody.replaceChildren(...data.map((u) => {
      const del = el("button", { type: "button", class: "danger" }, "Delete");
      del.setAttribute("aria-label", `Delete ${u.address}`);
      del.addEventListener("click", async () => {
        if (!confirm(`Delete ${u.address}? Its mail is moved to mail/deleted/.`)) return;
        try { await api("DELETE", `/api/v1/users/${encodeURIComponent(u.address)}`); say(`Deleted ${u.address}.`); await load(); }
        catch (e) { say(messageOf(e)); }
      });
      return el("tr", {}, el("td", { "data-label": "Address", class: "address" }, u.address),
        el("td", { "data-label": "Role" }, u.admin ? "administrator" : "user"), el("td", { class: "actions" }, del));
    }));
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const a = address.input.value.trim();
    showError(address, a.includes("@") ? "" : "An address is local-part@domain.");
    showError(password, password.input.value ? "" : "A password is needed.");
    if (!a.includes("@") || !password.input.value) return;
    add.disabled = true;
    try {
      await api("POST", "/api/v1/users", { address: a, password: password.input.value, admin: admin.checked });
      say(`Added ${a}.`);
      address.input.value = password.input.value = "";
      admin.checked = false;
      await load();
    } catch (e) {
      const text = messageOf(e);
      if (/password/i.test(text)) showError(password, text); else showError(address, text);
    } finally {
      add.disabled = false;
    }
  });
  await load();
}

// Queue --------------------------------------------------------------------------------------------

async function queuePage(): Promise<void> {
  const clear = el("button", { type: "button", id: "queue-retry-all" }, "Clear Host Assignments");
  clear.title = "Retry every message now (held ones stay held)";
  const refresh = el("button", { type: "button", id: "queue-refresh" }, "Refresh");
  const total = el("span", { class: "muted", id: "queue-total" });
  const tbody = el("tbody", { id: "queue-body" });
  const table = el("table", { id: "queue" }, el("thead", {}, el("tr", {}, el("th", {}, "Id"), el("th", {}, "From"),
    el("th", {}, "Recipients"), el("th", {}, "Arrived"), el("th", {}, ""))), tbody);
  page("Queue", el("div", { class: "row" }, clear, refresh, total), el("p"), table);

  const act = async (path: string, done: string) => {
    try { await api("POST", path); say(done); } catch (e) { say(messageOf(e)); }
    await load();
  };
  const load = async () => {
    const { data, headers } = await api<Queued[]>("GET", "/api/v1/queue?limit=200");
    total.textContent = `${headers.get("X-Total-Count") ?? data.length} message(s)`;
    if (!data.length) { tbody.replaceChildren(el("tr", {}, el("td", { colspan: "5", class: "muted" }, "The queue is empty."))); return; }
    tbody.replaceChildren(...data.map((m) => {
      const rcpts = el("ul", { class: "rcpts" }, ...m.recipients.map((r) => el("li", {},
        el("span", { class: "rcpt" }, r.address), " ", el("strong", { class: `state state-${r.state}` }, r.state),
        ` (${r.attempts} attempt${r.attempts === 1 ? "" : "s"})`,
        ...(r.last_error ? [el("br"), el("span", { class: "error last-error" }, r.last_error)] : []))));
      const buttons = el("td", { class: "actions" });
      const id = encodeURIComponent(m.id);
      const button = (action: string, label: string, cls = "") => {
        const b = el("button", { type: "button", class: `${cls} act-${action}`.trim() }, label);
        b.setAttribute("aria-label", `${label} ${m.id}`);
        b.addEventListener("click", () => {
          if (action === "delete" && !confirm(`Delete message ${m.id}?`)) return;
          void act(`/api/v1/queue/${id}/${action}`, `${label}: ${m.id}`);
        });
        buttons.append(b);
      };
      if (m.held) button("release", "Release"); else button("hold", "Hold");
      if (!m.held) button("retry", "Retry");
      button("delete", "Delete", "danger");
      return el("tr", { "data-id": m.id, "data-held": String(m.held) },
        el("td", { "data-label": "Id" }, el("code", {}, m.id), m.held ? el("span", { class: "muted" }, " held") : ""),
        el("td", { "data-label": "From" }, m.from || "<>"), el("td", { "data-label": "Recipients" }, rcpts),
        el("td", { "data-label": "Arrived" }, fmtTime(m.arrived)), buttons);
    }));
  };
  clear.addEventListener("click", () => void act("/api/v1/queue/retry", "Every message will be tried again now."));
  refresh.addEventListener("click", () => void load());
  await load();
}

// Routing ------------------------------------------------------------------------------------------

const pages: Record<string, () => Promise<void>> = { "#/dashboard": dashboardPage, "#/users": usersPage, "#/queue": queuePage };

async function route(): Promise<void> {
  say("");
  if (!csrf) {
    try {
      const { data } = await api<{ address: string; csrf_token: string }>("GET", "/api/v1/session");
      csrf = data.csrf_token;
      byId("who").textContent = data.address;
    } catch { /* not logged in */ }
  }
  if (!csrf || location.hash === "#/login") {
    if (csrf && location.hash === "#/login") { location.hash = "#/dashboard"; return; }
    loginPage();
    return;
  }
  byId("bar").hidden = false;
  const show = pages[location.hash];
  if (!show) { location.hash = "#/dashboard"; return; }
  main.setAttribute("aria-busy", "true");
  try { await show(); } catch (e) { say(messageOf(e)); } finally { main.removeAttribute("aria-busy"); }
  main.focus();
}

byId("logout").addEventListener("click", async () => {
  try { await api("DELETE", "/api/v1/session"); } catch { /* ended already */ }
  csrf = "";
  byId("who").textContent = "";
  location.hash = "#/login";
  say("Logged out.");
});
window.addEventListener("hashchange", () => void route());
void route();
