// Import documents in the export format: a dry run shows what would happen, then the real one.

import { ApiError, call } from "../api.js";
import { busy, fill, flash, h, mount } from "../dom.js";

export async function showImport() {
  const file = h("input", { id: "import-file", type: "file", accept: "application/json,.json" });
  const text = h("textarea", { id: "import-text", rows: 12, class: "json",
    placeholder: '{"side_effects": [ ... ]}' });
  const result = h("section", { class: "import-result", "aria-live": "polite" });
  const run = h("button", { type: "button", id: "import-run", disabled: true }, "Import");
  file.addEventListener("change", async () => {
    if (file.files[0]) text.value = await file.files[0].text();
  });

  async function send(dryRun) {
    let body;
    try { body = JSON.parse(text.value); } catch {
      fill(result, h("p", { class: "error", role: "alert" }, "That is not valid JSON."));
      return;
    }
    try {
      const report = await busy(dryRun ? "Checking the import…" : "Importing (one transaction)…", () =>
        call("POST", `import?dry_run=${dryRun}`, { body, idempotent: !dryRun }));
      fill(result, h("h2", {}, dryRun ? "Preview: nothing written yet" : "Imported"), summary(report));
      run.disabled = !dryRun || report.refused.length > 0;
      if (!dryRun) flash("Import written.");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      run.disabled = true;
      fill(result, h("h2", {}, "Refused: nothing would be written"),
        h("ul", { class: "error" }, (error.problem.errors || [{ msg: error.message }]).map((e) => h("li", {}, e.msg))));
    }
  }
  text.addEventListener("input", () => { run.disabled = true; });
  run.addEventListener("click", () => send(false));
  mount(h("h1", {}, "Import"),
    h("p", {}, "Documents as `skinkb export` writes them. Preview first; the import is all or nothing."),
    h("div", { class: "field" }, h("label", { for: "import-file" }, "JSON file"), file),
    h("div", { class: "field" }, h("label", { for: "import-text" }, "Or paste the JSON"), text),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary", id: "import-preview", onclick: () => send(true) }, "Preview (dry run)"), run),
    result);
}

function summary(report) {
  const rows = [];
  for (const [collection, slugs] of Object.entries(report.created)) {
    if (slugs.length) rows.push(["Created", collection, slugs.join(", ")]);
  }
  for (const [collection, slugs] of Object.entries(report.changed)) {
    if (slugs.length) rows.push(["Changed", collection, slugs.join(", ")]);
  }
  for (const [collection, n] of Object.entries(report.unchanged)) {
    if (n) rows.push(["Unchanged", collection, `${n} entries`]);
  }
  for (const refusal of report.refused) rows.push(["Refused", "", refusal]);
  if (!rows.length) return h("p", {}, "Nothing to import.");
  return h("table", { class: "entries" },
    h("thead", {}, h("tr", {}, ["What", "Collection", "Entries"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((r) => h("tr", { class: r[0].toLowerCase() }, r.map((c) => h("td", {}, c))))));
}
