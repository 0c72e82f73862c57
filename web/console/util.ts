// The console's shared pieces: the API call (session cookie + CSRF token), element building, form
// fields with their error beside them, formatting. Every text that comes from the server is put in
// with text nodes (el() turns strings into text nodes), never parsed as HTML.

export interface ApiError { status: number; code: string; message: string; }

export const session = { csrf: "", address: "" };

export function byId(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`no #${id}`);
  return e;
}

export type Child = Node | string | null | undefined | false;

// An element with attributes and children; strings become text nodes, null/false are left out.
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {},
    ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c) e.append(typeof c === "string" ? document.createTextNode(c) : c);
  return e;
}

const SVG = "http://www.w3.org/2000/svg";
export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Node[]): SVGElement {
  const e = document.createElementNS(SVG, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

export function say(text: string): void { byId("status").textContent = text; }

export async function api<T>(method: string, path: string, body?: unknown): Promise<{ data: T; headers: Headers }> {
  const { text, headers } = await call(method, path, body);
  let data: unknown = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  return { data: data as T, headers };
}

// A GET whose answer is text (a held message's source).
export async function apiText(path: string): Promise<string> {
  return (await call("GET", path)).text;
}

async function call(method: string, path: string, body?: unknown): Promise<{ text: string; headers: Headers }> {
  // Without it, a 401 would offer Basic and the browser would open its own password dialog.
  const headers: Record<string, string> = { "X-Requested-With": "tern-console" };
  const changes = method !== "GET";
  if (changes) headers["Content-Type"] = "application/json";
  if (changes && session.csrf) headers["X-CSRF-Token"] = session.csrf;
  const payload = body !== undefined ? JSON.stringify(body) : method === "POST" ? "{}" : undefined;
  const r = await fetch(path, { method, headers, credentials: "same-origin", body: payload });
  const text = await r.text();
  if (!r.ok) {
    let data: unknown = null;
    try { data = JSON.parse(text); } catch { data = null; }
    const e = (data as { error?: { code: string; message: string } } | null)?.error;
    const err: ApiError = { status: r.status, code: e?.code ?? "http", message: e?.message ?? `HTTP ${r.status}` };
    if (r.status === 401 && path !== "/api/v1/session") { session.csrf = ""; location.hash = "#/login"; }
    throw err;
  }
  return { text, headers: r.headers };
}

export function messageOf(e: unknown): string {
  return (e as ApiError).message ?? String(e);
}

export function statusOf(e: unknown): number {
  return (e as ApiError).status ?? 0;
}

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function enc(s: string): string { return encodeURIComponent(s); }

export interface Field { box: HTMLElement; input: HTMLInputElement; error: HTMLElement; name: string; }

// A labelled input with its error line under it (the line keeps its height, so an error shifts nothing).
export function field(id: string, label: string, type: string, autocomplete = "off", name = id): Field {
  const input = el("input", { id, name, type, autocomplete, "aria-describedby": `${id}-error` });
  const error = el("span", { id: `${id}-error`, class: "error", "aria-live": "polite" });
  const box = el("div", { class: "field" }, el("label", { for: id }, label), input, error);
  return { box, input, error, name };
}

export function checkbox(id: string, label: string): { box: HTMLElement; input: HTMLInputElement } {
  const input = el("input", { id, type: "checkbox" });
  return { box: el("div", { class: "field check" }, el("label", { for: id }, input, label)), input };
}

export function select(id: string, label: string, options: [string, string][]): { box: HTMLElement; input: HTMLSelectElement } {
  const input = el("select", { id, name: id }, ...options.map(([v, t]) => el("option", { value: v }, t)));
  return { box: el("div", { class: "field" }, el("label", { for: id }, label), input, el("span", { class: "error" })), input };
}

export function showError(f: { input: HTMLInputElement; error: HTMLElement }, text: string): void {
  f.error.textContent = text;
  f.input.setAttribute("aria-invalid", text ? "true" : "false");
}

// Puts an API error beside the field its message names (the API's messages name the field), else
// beside `fallback`. Clears the others.
export function showApiError(fields: Field[], fallback: Field | HTMLElement, e: unknown): void {
  const text = messageOf(e);
  for (const f of fields) showError(f, "");
  const named = fields.find((f) => new RegExp(`\\b${f.name}\\b`, "i").test(text));
  if (named) showError(named, text);
  else if (fallback instanceof HTMLElement) fallback.textContent = text;
  else showError(fallback, text);
}

export function button(label: string, attrs: Record<string, string> = {}, onClick?: () => void): HTMLButtonElement {
  const b = el("button", { type: "button", ...attrs }, label);
  if (onClick) b.addEventListener("click", onClick);
  return b;
}

export function fmtTime(unix?: number): string {
  return unix ? new Date(unix * 1000).toISOString().replace("T", " ").slice(0, 19) : "";
}

export function fmtAge(unix?: number): string {
  if (!unix) return "";
  const s = Math.max(0, Math.round(Date.now() / 1000 - unix));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function fmtBytes(n?: number | null): string {
  if (n === undefined || n === null) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

// "10M", "2.5 GiB", "1048576" -> bytes; "" -> null; NaN when unreadable.
export function parseBytes(text: string): number | null {
  const t = text.trim();
  if (!t) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(t);
  if (!m) return NaN;
  const mult: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
  return Math.round(parseFloat(m[1]) * mult[m[2].toLowerCase()]);
}

export function plural(n: number, word: string): string { return `${n} ${word}${n === 1 ? "" : "s"}`; }

// A modal dialog (the browser's <dialog>: focus stays inside, Escape closes). Resolves when closed.
export function dialog(title: string, ...children: Node[]): { box: HTMLDialogElement; close: () => void } {
  const close = button("Close", { class: "close" });
  const box = el("dialog", { class: "dialog", "aria-label": title },
    el("div", { class: "dialog-head" }, el("h2", {}, title), close), ...children);
  close.addEventListener("click", () => box.close());
  box.addEventListener("close", () => box.remove());
  document.body.append(box);
  box.showModal();
  return { box, close: () => box.close() };
}

// The headers of a message's text: the lines before the first empty one, without the envelope
// lines (FROM:, RCPT:, DONE: ... an uppercase keyword) that a queue or held file starts with.
export function headersOf(source: string): string {
  const head = source.split(/\r?\n\r?\n/, 1)[0];
  const lines = head.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && /^[A-Z][A-Z_-]*:( |$)/.test(lines[i])) i++;
  return lines.slice(i).join("\n");
}

// Headers and source shown in a dialog, as text.
export function showSource(title: string, source: string | undefined, extra: Node[] = []): void {
  const body: Node[] = [...extra];
  if (source === undefined) body.push(el("p", { class: "muted" }, "This server does not give the message's source."));
  else {
    body.push(el("h3", {}, "Headers"), el("pre", { class: "source headers" }, headersOf(source)),
      el("details", {}, el("summary", {}, "Whole source"), el("pre", { class: "source whole" }, source)));
  }
  dialog(title, ...body);
}

// A text filter over the rows of a table: hides those whose text lacks a word typed. `apply` again
// after the rows are replaced.
export function searchBox(id: string, label: string, rows: () => HTMLElement[]): { box: HTMLElement; apply: () => void } {
  const input = el("input", { id, type: "search", autocomplete: "off", placeholder: label, "aria-label": label });
  const apply = () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const r of rows()) r.hidden = !words.every((w) => (r.textContent ?? "").toLowerCase().includes(w));
  };
  input.addEventListener("input", apply);
  return { box: el("div", { class: "search" }, input), apply };
}

// Shows a page in <main> under its title, and marks its link in the navigation.
export function page(title: string, ...children: Node[]): void {
  byId("main").replaceChildren(el("h1", {}, title), ...children);
  document.title = `${title} · Tern console`;
  for (const a of document.querySelectorAll("nav a"))
    if (a.getAttribute("href") === location.hash) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
}

// What to stop when the page changes (timers, event streams); the router runs and empties it.
export const leaving: (() => void)[] = [];
