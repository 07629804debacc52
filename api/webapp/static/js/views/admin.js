// For admins: API keys (create, shown once; revoke) and the audit log.

import { ApiError, call, get } from "../api.js";
import { busy, fill, flash, h, mount, when } from "../dom.js";

export async function showKeys() {
  const keys = await busy("Loading keys…", () => get("keys"));
  const name = h("input", { id: "key-name", type: "text", required: true, maxlength: 100 });
  const role = h("select", { id: "key-role" }, ["editor", "publisher", "admin"].map((r) => h("option", { value: r }, r)));
  const created = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card inline" },
    h("h2", {}, "New key"),
    h("div", { class: "field" }, h("label", { for: "key-name" }, "Name"), name),
    h("div", { class: "field" }, h("label", { for: "key-role" }, "Role"), role),
    h("button", { type: "submit", class: "primary" }, "Create key"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const made = await call("POST", "keys", { body: { name: name.value, role: role.value } });
      await showKeys();
      fill(document.getElementById("created-key"),
        h("p", {}, `Key for ${made.name} (${made.role}); copy it now, it is not shown again:`),
        h("output", { class: "secret", id: "new-key" }, made.key));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      fill(created, h("p", { class: "error", role: "alert" }, error.message));
    }
  });
  const revoke = async (keyName) => {
    if (!window.confirm(`Revoke the key ${keyName}?`)) return;
    await call("DELETE", `keys/${encodeURIComponent(keyName)}`);
    flash(`Revoked ${keyName}.`);
    await showKeys();
  };
  mount(h("h1", {}, "API keys"), h("div", { id: "created-key", class: "created", "aria-live": "polite" }), form, created,
    h("table", { class: "entries" },
      h("thead", {}, h("tr", {}, ["Name", "Role", "Prefix", "Created", "State", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, keys.map((k) => h("tr", {},
        h("td", {}, k.name), h("td", {}, k.role), h("td", {}, h("code", {}, k.prefix)),
        h("td", {}, when(k.created_at)), h("td", {}, k.revoked_at ? `revoked ${when(k.revoked_at)}` : "live"),
        h("td", {}, k.revoked_at ? null : h("button", { type: "button", class: "small danger",
          onclick: () => revoke(k.name), "aria-label": `Revoke ${k.name}` }, "Revoke")))))));
}

export async function showAudit(before) {
  const page = await busy("Loading the audit log…", () => get(`audit?limit=50${before ? `&before=${before}` : ""}`));
  const action = h("input", { id: "audit-action", type: "search", placeholder: "e.g. publish" });
  const rows = h("tbody");
  const draw = () => rows.replaceChildren(...page.items
    .filter((e) => !action.value || e.action.includes(action.value))
    .map((e) => h("tr", {},
      h("td", {}, when(e.at)), h("td", {}, e.actor ?? "—"), h("td", {}, e.action),
      h("td", {}, e.target ?? ""), h("td", {}, h("code", {}, JSON.stringify(e.detail ?? {}))))));
  action.addEventListener("input", draw);
  draw();
  const last = page.items.at(-1);
  mount(h("h1", {}, "Audit log"),
    h("div", { class: "field" }, h("label", { for: "audit-action" }, "Filter by action"), action),
    h("table", { class: "entries audit" },
      h("thead", {}, h("tr", {}, ["When", "Who", "Action", "Target", "Detail"].map((t) => h("th", { scope: "col" }, t)))),
      rows),
    page.next && last ? h("button", { type: "button", onclick: () => showAudit(last.id) }, "Older events") : null);
}
