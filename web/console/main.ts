// The administrator's console: a single page on the JSON API (docs/console.md). This file logs in and
// routes between the pages (one module each); every text from the server goes in as text, never HTML.

import { aliasesPage, archivesPage, domainsPage, usersPage } from "./directory";
import { dashboardPage } from "./dashboard";
import { lostFoundPage, quarantinePage } from "./held";
import { logsPage } from "./logs";
import { queuePage } from "./queue";
import { api, byId, el, field, leaving, messageOf, say, session, showError } from "./util";

const pages: Record<string, () => Promise<void>> = {
  "#/dashboard": dashboardPage, "#/domains": domainsPage, "#/users": usersPage, "#/aliases": aliasesPage,
  "#/archives": archivesPage, "#/queue": queuePage, "#/quarantine": quarantinePage, "#/lost-found": lostFoundPage,
  "#/log": logsPage,
};

function loggedIn(data: { address: string; csrf_token: string }): void {
  session.csrf = data.csrf_token;
  session.address = data.address;
  byId("who").textContent = data.address;
}

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
      loggedIn(data);
      const target = pages[location.hash] ? location.hash : "#/dashboard";
      if (location.hash === target) void route(); else location.hash = target;
    } catch (e) {
      showError(password, messageOf(e));
    } finally {
      submit.disabled = false;
    }
  });
  byId("main").replaceChildren(form);
  document.title = "Log in · Tern console";
  address.input.focus();
}

async function route(): Promise<void> {
  say("");
  for (const stop of leaving.splice(0)) stop();
  for (const d of document.querySelectorAll("dialog")) d.remove();
  if (!session.csrf) {
    try { loggedIn((await api<{ address: string; csrf_token: string }>("GET", "/api/v1/session")).data); }
    catch { /* not logged in */ }
  }
  if (!session.csrf || location.hash === "#/login") {
    if (session.csrf && location.hash === "#/login") { location.hash = "#/dashboard"; return; }
    loginPage();
    return;
  }
  byId("bar").hidden = false;
  const show = pages[location.hash];
  if (!show) { location.hash = "#/dashboard"; return; }
  const main = byId("main");
  main.setAttribute("aria-busy", "true");
  try { await show(); } catch (e) { say(messageOf(e)); } finally { main.removeAttribute("aria-busy"); }
  if (!main.contains(document.activeElement)) main.focus();
}

byId("logout").addEventListener("click", async () => {
  try { await api("DELETE", "/api/v1/session"); } catch { /* ended already */ }
  session.csrf = session.address = "";
  byId("who").textContent = "";
  location.hash = "#/login";
  say("Logged out.");
});
window.addEventListener("hashchange", () => void route());
void route();
