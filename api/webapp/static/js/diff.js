// Field-by-field differences between two documents, drawn side by side.

import { h, show } from "./dom.js";

export function changedFields(before, after) {
  const keys = new Set([...Object.keys(before || {}), ...Object.keys(after || {})]);
  return [...keys].sort().filter((k) => JSON.stringify(before?.[k] ?? null) !== JSON.stringify(after?.[k] ?? null));
}

export function diffTable(before, after, { left = "Published", right = "Pending", caption, only } = {}) {
  const fields = only || changedFields(before, after);
  if (!fields.length) return h("p", { class: "muted" }, "No differences.");
  return h("table", { class: "diff" },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, left),
      h("th", { scope: "col" }, right))),
    h("tbody", {}, fields.map((f) => h("tr", {},
      h("th", { scope: "row" }, f),
      h("td", { class: "old" }, h("pre", {}, show(before?.[f]))),
      h("td", { class: "new" }, h("pre", {}, show(after?.[f])))))));
}

// A revision's own diff: {field: {from, to}}.
export function revisionDiff(diff) {
  const before = {};
  const after = {};
  for (const [field, change] of Object.entries(diff || {})) {
    before[field] = change.from;
    after[field] = change.to;
  }
  return diffTable(before, after, { left: "Before", right: "After", only: Object.keys(diff || {}) });
}
