// One collection: every entry, searchable by slug or label, filtered by status.

import { all, session } from "../api.js";
import { badge, busy, h, mount, title, when } from "../dom.js";

const FILTERS = [["", "Any status"], ["draft", "Draft"], ["published", "Published"],
  ["archived", "Archived"], ["pending", "With a pending edit"]];

export async function showCollection(name) {
  const info = session.collections.find((c) => c.name === name);
  if (!info) throw new Error(`No collection ${name}.`);
  const entries = await busy(`Loading ${name}…`, () => all(name));
  const search = h("input", { id: "search", type: "search", placeholder: "slug or label" });
  const status = h("select", { id: "status" }, FILTERS.map(([v, t]) => h("option", { value: v }, t)));
  const body = h("tbody");
  const count = h("p", { class: "muted", role: "status" });

  function draw() {
    const q = search.value.trim().toLowerCase();
    const shown = entries.filter((e) =>
      (!q || e.slug.includes(q) || e.label.toLowerCase().includes(q)) &&
      (!status.value || (status.value === "pending" ? e.pending_edit : e.status === status.value)));
    count.textContent = `${shown.length} of ${entries.length}`;
    body.replaceChildren(...shown.map((e) => h("tr", {},
      h("td", {}, h("a", { href: `#/c/${name}/${encodeURIComponent(e.slug)}` }, e.label)),
      h("td", {}, h("code", {}, e.slug)),
      h("td", {}, badge(e)),
      h("td", {}, String(e.version)),
      h("td", {}, when(e.updated_at)))));
  }
  search.addEventListener("input", draw);
  status.addEventListener("change", draw);
  draw();
  mount(
    h("div", { class: "heading" }, h("h1", {}, title(name)),
      h("a", { class: "button primary", href: `#/c/${name}/new` }, `New ${title(info.kind.replaceAll("_", " ")).toLowerCase()}`)),
    h("div", { class: "filters" },
      h("div", { class: "field" }, h("label", { for: "search" }, "Search"), search),
      h("div", { class: "field" }, h("label", { for: "status" }, "Status"), status)),
    count,
    h("table", { class: "entries" },
      h("thead", {}, h("tr", {}, ["Label", "Slug", "Status", "Version", "Updated"].map((t) => h("th", { scope: "col" }, t)))),
      body));
}
