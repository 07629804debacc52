// The entry editor: a form from the collection's schema, the source beside it to pick excerpts
// from, save (If-Match), and when someone saved first, what changed and a way to re-apply.

import { ApiError, all, call, can, get, session } from "../api.js";
import { changedFields, diffTable } from "../diff.js";
import { badge, busy, fill, flash, h, mount, title } from "../dom.js";
import { SchemaForm, blankDocument } from "../form.js";

const sourceTexts = new Map();
const slugLists = new Set();

export async function showEntry(name, slug) {
  const info = session.collections.find((c) => c.name === name);
  if (!info) throw new Error(`No collection ${name}.`);
  if (slug === "new") return draw(info, null, blankDocument(info.document_schema));
  const entry = await busy("Loading…", () => get(`${name}/${encodeURIComponent(slug)}`));
  return draw(info, entry, structuredClone(entry.document));
}

function draw(info, entry, doc) {
  const name = info.name;
  const isNew = entry === null;
  const picker = new CitationPicker();
  const form = new SchemaForm(info.document_schema, doc, {
    readonly: isNew ? new Set() : new Set(["slug"]),
    slugsFor: (key) => slugCollection(info, key),
    onPick: (path, item) => picker.target(path, item, form),
  });
  loadSlugLists(info);
  const problem = h("div", { class: "problem", role: "alert" });
  const conflictArea = h("section", { class: "conflict", "aria-live": "polite" });

  async function save() {
    form.clearErrors();
    problem.replaceChildren();
    try {
      if (isNew) {
        const created = await busy("Creating…", () => call("POST", name, { body: doc, idempotent: true }));
        flash(`Created ${created.slug} as a draft.`);
        location.hash = `#/c/${name}/${encodeURIComponent(created.slug)}`;
        return;
      }
      const fields = changedFields(entry.document, doc);
      if (!fields.length) return flash("Nothing to save: no field changed.", "warn");
      const changes = Object.fromEntries(fields.map((f) => [f, doc[f] ?? null]));
      const saved = await busy("Saving…", () =>
        call("PATCH", `${name}/${encodeURIComponent(entry.slug)}`, { body: changes, version: entry.version }));
      flash(saved.status === "published" ? "Saved as a pending edit: publish it to make it public." : "Saved.");
      draw(info, saved, structuredClone(saved.document));
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) return conflict();
      report(error);
    }
  }

  function report(error) {
    if (!(error instanceof ApiError)) throw error;
    const unplaced = error.status === 422 ? form.showErrors(error.fieldErrors()) : [];
    fill(problem,
      h("p", {}, h("strong", {}, error.problem.title || "Error"), ": ",
        error.status === 422 ? "some fields need fixing (shown by each field)." : error.message),
      unplaced.length ? h("ul", {}, unplaced.map((u) => h("li", {}, u))) : null);
  }

  async function conflict() {
    const current = await get(`${name}/${encodeURIComponent(entry.slug)}`);
    const theirs = changedFields(entry.document, current.document);
    const mine = changedFields(entry.document, doc);
    const both = mine.filter((f) => theirs.includes(f));
    const apply = async () => {
      const merged = { ...structuredClone(current.document) };
      for (const f of mine) merged[f] = doc[f];
      conflictArea.replaceChildren();
      // Carry on from the current version, with this editor's changes on top.
      Object.keys(doc).forEach((k) => delete doc[k]);
      Object.assign(doc, merged);
      entry = current;
      await save();
    };
    fill(conflictArea,
      h("h2", { tabindex: "-1", id: "conflict-title" }, "Someone saved this entry while you were editing"),
      h("p", {}, `It is now at version ${current.version} (you opened version ${entry.version}). `,
        "Nothing of yours was saved yet."),
      diffTable(entry.document, current.document, { caption: "Changed since you opened it",
        left: "When you opened it", right: "Now" }),
      diffTable(entry.document, doc, { caption: "Your changes", left: "When you opened it", right: "Yours" }),
      both.length ? h("p", { class: "warn" }, `Both of you changed: ${both.join(", ")}. Applying yours replaces theirs there.`) : null,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: apply }, "Apply my changes to the current version"),
        h("button", { type: "button", onclick: () => showEntry(name, entry.slug) }, "Discard mine and reload")));
    document.getElementById("conflict-title").focus();
  }

  async function act(action, label) {
    try {
      const done = await busy(`${label}…`, () =>
        call("POST", `${name}/${encodeURIComponent(entry.slug)}/${action}`, { version: entry.version, idempotent: true }));
      flash(`${label}: done.`);
      draw(info, done, structuredClone(done.document));
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) return conflict();
      report(error);
    }
  }

  const actions = h("div", { class: "actions" },
    h("button", { type: "button", class: "primary", id: "save", onclick: save }, isNew ? "Create draft" : "Save"),
    !isNew && can("publisher") && (entry.status !== "published" || entry.pending_edit)
      ? h("button", { type: "button", id: "publish", onclick: () => act("publish", "Publish") },
          entry.pending_edit ? "Publish edit" : "Publish") : null,
    !isNew && can("publisher") && entry.status === "published"
      ? h("button", { type: "button", id: "unpublish", onclick: () => act("unpublish", "Unpublish") }, "Unpublish") : null,
    !isNew ? h("a", { class: "button", href: `#/c/${name}/${encodeURIComponent(entry.slug)}/history` }, "History") : null);

  mount(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: `#/c/${name}` }, title(name)), " / ",
      isNew ? "new" : entry.slug),
    h("div", { class: "heading" },
      h("h1", {}, isNew ? `New ${info.kind.replaceAll("_", " ")}` : entry.label),
      isNew ? null : h("span", {}, badge(entry), ` version ${entry.version}`)),
    conflictArea,
    problem,
    entry?.published_document ? h("details", { class: "pending" },
      h("summary", {}, "This edit is pending: what differs from the published version"),
      diffTable(entry.published_document, entry.document)) : null,
    h("div", { class: "editor" },
      h("form", { class: "card", "aria-label": "Document", onsubmit: (e) => { e.preventDefault(); save(); } },
        form.el, actions),
      picker.el));
}

// Which collection a field names entries of ("procedure" -> procedures, "parent" -> its own).
function slugCollection(info, key) {
  if (key === "parent") return info.name;
  const found = session.collections.find((c) => c.kind === key || c.name === key || c.name === key.replaceAll("_", "-"));
  return found ? found.name : null;
}

async function loadSlugLists(info) {
  for (const c of session.collections) {
    if (slugLists.has(c.name)) continue;
    slugLists.add(c.name);
    all(c.name).then((items) => {
      document.body.append(h("datalist", { id: `slugs-${c.name}` },
        items.map((e) => h("option", { value: e.slug }, e.label))));
    }).catch(() => slugLists.delete(c.name));
  }
}

// The source's full text beside the form: a passage selected in it (with the mouse, or the keyboard:
// it is a read-only text area) becomes the citation's excerpt.
class CitationPicker {
  constructor() {
    this.select = h("select", { id: "picker-source" });
    this.text = h("textarea", { class: "source-text", id: "source-text", readonly: true, rows: 20,
      "aria-describedby": "picker-status" });
    this.status = h("p", { class: "muted", id: "picker-status" },
      "Press “Pick excerpt from source” on a citation, then select a passage here.");
    this.use = h("button", { type: "button", id: "use-selection", class: "primary", disabled: true,
      onclick: () => this.apply() }, "Use selected text as excerpt");
    this.el = h("aside", { class: "picker card", "aria-label": "Citation picker" },
      h("h2", {}, "Source text"),
      h("div", { class: "field" }, h("label", { for: "picker-source" }, "Source"), this.select),
      this.status, this.use,
      h("label", { for: "source-text", class: "visually-hidden" }, "Source text"), this.text);
    this.select.addEventListener("change", () => this.load(this.select.value));
    for (const event of ["select", "keyup", "mouseup"]) {
      this.text.addEventListener(event, () => { this.use.disabled = !this.item || !this.selected(); });
    }
    all("sources").then((items) => {
      this.select.replaceChildren(h("option", { value: "" }, "—"),
        ...items.map((s) => h("option", { value: s.slug }, s.label)));
      if (this.item?.source) this.select.value = this.item.source;
    });
  }

  async target(path, item, form) {
    this.path = path;
    this.item = item;
    this.form = form;
    this.status.textContent = `Picking for ${path.join(" › ")}: select a passage, then press the button.`;
    if (item.source) {
      this.select.value = item.source;
      await this.load(item.source);
    }
    this.select.focus();
  }

  async load(slug) {
    if (!slug) { this.text.value = ""; return; }
    if (!sourceTexts.has(slug)) {
      const source = await get(`sources/${encodeURIComponent(slug)}`);
      sourceTexts.set(slug, source.document.text || "");
    }
    this.text.value = sourceTexts.get(slug);
  }

  selected() {
    return this.text.value.slice(this.text.selectionStart, this.text.selectionEnd).trim();
  }

  apply() {
    const passage = this.selected();
    if (!passage || !this.item) return;
    this.item.source = this.select.value;
    this.item.excerpt = passage;
    this.form.render();
    this.status.textContent = `Excerpt set (${passage.length} characters); it is checked when you save.`;
    flash("Excerpt taken from the source.");
  }
}
