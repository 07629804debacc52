// The shell: sign in with an API key, learn its role, route between the screens.

import { ApiError, can, get, session } from "./api.js";
import { flash, h, mount, showing, title } from "./dom.js";
import { showAudit, showKeys } from "./views/admin.js";
import { showCollection } from "./views/collection.js";
import { showEntry } from "./views/entry.js";
import { showHistory } from "./views/history.js";
import { showImport } from "./views/import.js";
import { showReview } from "./views/review.js";

function signInForm(message) {
  showing(null);
  document.getElementById("top").hidden = true;
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true,
    "aria-describedby": "key-help" });
  const form = h("form", { class: "card sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    message ? h("p", { class: "error", role: "alert" }, message) : null,
    h("div", { class: "field" }, h("label", { for: "api-key" }, "API key"), input,
      h("small", { id: "key-help", class: "help" },
        "Kept in this tab only (sessionStorage) and sent as a Bearer token.")),
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    session.key = input.value.trim();
    await start();
  });
  mount(form);
  input.focus();
}

async function start() {
  if (!session.key) return signInForm();
  try {
    session.me = await get("whoami");
    session.collections = await get("collections");
  } catch (error) {
    session.key = null;
    session.me = null;
    return signInForm(error instanceof ApiError && error.status === 401
      ? "That key was not accepted." : `Could not sign in: ${error.message}`);
  }
  drawNav();
  if (!location.hash || location.hash === "#") location.hash = `#/c/${session.collections[0].name}`;
  else route();
}

function drawNav() {
  document.getElementById("top").hidden = false;
  document.getElementById("who").textContent = `${session.me.name} (${session.me.role})`;
  const links = [
    ...session.collections.map((c) => [`#/c/${c.name}`, title(c.name)]),
    ["#/review", "Review"],
    can("publisher") ? ["#/import", "Import"] : null,
    can("admin") ? ["#/keys", "Keys"] : null,
    can("admin") ? ["#/audit", "Audit log"] : null,
  ].filter(Boolean);
  document.getElementById("nav").replaceChildren(h("ul", {},
    links.map(([href, text]) => h("li", {}, h("a", { href }, text)))));
  markCurrent();
}

function markCurrent() {
  for (const a of document.querySelectorAll("#nav a")) {
    const here = location.hash === a.getAttribute("href") || location.hash.startsWith(`${a.getAttribute("href")}/`);
    if (here) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
}


async function route() {
  if (!session.me) return;
  markCurrent();
  showing(location.hash);
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  try {
    if (parts[0] === "c" && parts.length === 2) await showCollection(parts[1]);
    else if (parts[0] === "c" && parts[3] === "history") await showHistory(parts[1], parts[2]);
    else if (parts[0] === "c" && parts.length >= 3) await showEntry(parts[1], parts[2]);
    else if (parts[0] === "review") await showReview();
    else if (parts[0] === "import" && can("publisher")) await showImport();
    else if (parts[0] === "keys" && can("admin")) await showKeys();
    else if (parts[0] === "audit" && can("admin")) await showAudit();
    else mount(h("h1", {}, "Not found"), h("p", {}, "No such screen."));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signOut("Your key is no longer accepted.");
    mount(h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, error.message));
  }
  document.getElementById("main").focus({ preventScroll: true });
}

function signOut(message) {
  session.key = null;
  session.me = null;
  location.hash = "";
  signInForm(message);
}

document.getElementById("sign-out").addEventListener("click", () => {
  signOut();
  flash("Signed out.");
});
window.addEventListener("hashchange", route);
start();
