// A form built from a collection's document schema (the JSON schema of its `...Create` model).
// The form edits `value` in place; errors from a problem's `errors[].loc` appear by their field.

import { h } from "./dom.js";

const LONG_TEXT = new Set(["text", "description", "excerpt", "note", "summary", "body", "bio"]);

export class SchemaForm {
  /**
   * @param schema  the collection's document schema
   * @param value   the document (edited in place)
   * @param options {readonly: Set of top-level names, slugsFor(name) -> collection path or null,
   *                 onPick(citationPath) when "Pick from source" is pressed}
   */
  constructor(schema, value, options = {}) {
    this.root = schema;
    this.value = value;
    this.options = options;
    this.el = h("div", { class: "schema-form" });
    this.render();
  }

  render() {
    const focused = document.activeElement?.id;
    this.el.replaceChildren(...this.properties(this.root, [], this.value));
    if (focused) document.getElementById(focused)?.focus();
  }

  resolve(schema) {
    let s = schema;
    while (s && s.$ref) s = this.root.$defs[s.$ref.split("/").pop()];
    if (s && s.anyOf) {
      const kept = s.anyOf.filter((o) => o.type !== "null");
      if (kept.length === 1) return { ...this.resolve(kept[0]), nullable: true, title: s.title || kept[0].title, default: s.default };
    }
    if (s && s.allOf && s.allOf.length === 1) return { ...this.resolve(s.allOf[0]), title: s.title };
    return s || {};
  }

  properties(schema, path, obj) {
    const s = this.resolve(schema);
    const required = new Set(s.required || []);
    return Object.entries(s.properties || {}).map(([name, prop]) =>
      this.field(prop, [...path, name], obj, name, required.has(name)));
  }

  field(propSchema, path, parent, key, required) {
    const s = this.resolve(propSchema);
    const id = `f-${path.join("-")}`;
    const loc = path.join(".");
    const label = labelOf(s.title, key) + (required ? " *" : "");
    const value = parent[key];
    const readonly = path.length === 1 && this.options.readonly?.has(key);
    const set = (v) => { parent[key] = v; this.options.onChange?.(); };

    if (s.type === "array") {
      const items = this.resolve(s.items || {});
      if (items.type === "object") return this.objectList(s, items, path, parent, key, label);
      return this.scalarList(s, items, path, parent, key, label);
    }
    if (s.type === "object" && s.properties) {
      if (parent[key] == null) parent[key] = {};
      return h("fieldset", { class: "group", dataset: { loc } },
        h("legend", {}, label), this.properties(s, path, parent[key]));
    }
    let input;
    if (s.enum) {
      input = h("select", { id, disabled: readonly },
        s.nullable || !required ? h("option", { value: "" }, "—") : null,
        s.enum.map((opt) => h("option", { value: opt, selected: opt === value }, opt)));
      input.addEventListener("change", () => set(input.value === "" ? null : input.value));
    } else if (s.type === "boolean") {
      input = h("input", { id, type: "checkbox", checked: !!value, disabled: readonly });
      input.addEventListener("change", () => set(input.checked));
    } else if (s.type === "integer" || s.type === "number") {
      input = h("input", { id, type: "number", value: value ?? "", readonly,
        step: s.type === "integer" ? "1" : "any" });
      input.addEventListener("input", () => set(input.value === "" ? null : Number(input.value)));
    } else if (s.type === "string") {
      const long = LONG_TEXT.has(key) || (s.maxLength || 0) > 300;
      input = long
        ? h("textarea", { id, rows: key === "text" ? 10 : 3, readonly })
        : h("input", { id, type: s.format === "uri" ? "url" : "text", readonly,
            list: this.slugList(key) });
      input.value = value ?? "";
      input.addEventListener("input", () =>
        set(input.value === "" && (s.nullable || !required) ? null : input.value));
    } else {
      // Anything the form does not know how to draw is edited as JSON.
      input = h("textarea", { id, rows: 4, class: "json", readonly });
      input.value = JSON.stringify(value ?? null, null, 2);
      input.addEventListener("change", () => {
        try { set(JSON.parse(input.value)); input.setCustomValidity(""); }
        catch { input.setCustomValidity("Not valid JSON"); input.reportValidity(); }
      });
    }
    if (required) input.setAttribute("aria-required", "true");
    const help = s.description ? h("small", { class: "help", id: `${id}-help` }, s.description) : null;
    if (help) input.setAttribute("aria-describedby", help.id);
    return h("div", { class: `field${s.type === "boolean" ? " check" : ""}`, dataset: { loc } },
      h("label", { for: id }, label), input, help);
  }

  slugList(key) {
    const target = this.options.slugsFor?.(key);
    return target ? `slugs-${target}` : undefined;
  }

  scalarList(s, items, path, parent, key, label) {
    if (!Array.isArray(parent[key])) parent[key] = [];
    const list = parent[key];
    const rows = list.map((item, i) => {
      const id = `f-${[...path, i].join("-")}`;
      const input = items.enum
        ? h("select", { id }, items.enum.map((o) => h("option", { value: o, selected: o === item }, o)))
        : h("input", { id, type: "text", list: this.slugList(key) });
      input.value = item ?? "";
      input.addEventListener("input", () => { list[i] = input.value; this.options.onChange?.(); });
      return h("li", { dataset: { loc: [...path, i].join(".") } },
        h("label", { for: id, class: "visually-hidden" }, `${label} ${i + 1}`), input,
        h("button", { type: "button", class: "small", "aria-label": `Remove ${label} ${i + 1}`,
          onclick: () => { list.splice(i, 1); this.changed(); } }, "Remove"));
    });
    return h("fieldset", { class: "group list", dataset: { loc: path.join(".") } },
      h("legend", {}, label), h("ul", {}, rows),
      h("button", { type: "button", class: "small",
        onclick: () => { list.push(items.enum ? items.enum[0] : ""); this.changed(`f-${[...path, list.length - 1].join("-")}`); } },
        `Add ${singular(label)}`));
  }

  objectList(s, items, path, parent, key, label) {
    if (!Array.isArray(parent[key])) parent[key] = [];
    const list = parent[key];
    const isCitation = items.properties && "excerpt" in items.properties && "source" in items.properties;
    const rows = list.map((item, i) => {
      const itemPath = [...path, i];
      const title = `${singular(label)} ${i + 1}`;
      return h("fieldset", { class: `item${isCitation ? " citation" : ""}`, dataset: { loc: itemPath.join(".") } },
        h("legend", {}, title),
        this.properties(items, itemPath, item),
        h("div", { class: "item-actions" },
          isCitation && this.options.onPick
            ? h("button", { type: "button", class: "small pick",
                onclick: () => this.options.onPick(itemPath, item) }, "Pick excerpt from source")
            : null,
          h("button", { type: "button", class: "small danger", "aria-label": `Remove ${title}`,
            onclick: () => { list.splice(i, 1); this.changed(); } }, "Remove")));
    });
    return h("fieldset", { class: "group list", dataset: { loc: path.join(".") } },
      h("legend", {}, label), rows,
      h("button", { type: "button", class: "small add",
        onclick: () => {
          list.push(blank(this, items));
          this.changed();
          this.el.querySelector(`[id^="${itemId(path, list.length - 1)}-"]`)?.focus();
        } },
        `Add ${singular(label).toLowerCase()}`));
  }

  changed(focusId) {
    this.options.onChange?.();
    this.render();
    if (focusId) document.getElementById(focusId)?.focus();
  }

  // Show each error by the deepest field its loc names (the form's top if none matches).
  showErrors(errors) {
    this.clearErrors();
    const unplaced = [];
    for (const [loc, msg] of errors) {
      let target = null;
      for (let n = loc.length; n > 0 && !target; n--) {
        target = this.el.querySelector(`[data-loc="${CSS.escape(loc.slice(0, n).join("."))}"]`);
      }
      if (!target) { unplaced.push(`${loc.join(".") || "document"}: ${msg}`); continue; }
      const id = `err-${Math.random().toString(36).slice(2)}`;
      const detail = loc.length ? `${msg} (${loc.join(".")})` : msg;
      target.classList.add("invalid");
      const note = h("p", { class: "error", id }, detail);
      const control = target.querySelector(":scope > input, :scope > textarea, :scope > select");
      if (control) {
        control.setAttribute("aria-invalid", "true");
        control.setAttribute("aria-describedby", `${control.getAttribute("aria-describedby") || ""} ${id}`.trim());
        control.after(note);
      } else {
        target.querySelector(":scope > legend")?.after(note) || target.prepend(note);
      }
    }
    this.el.querySelector(".invalid input, .invalid textarea, .invalid select")?.focus();
    return unplaced;
  }

  clearErrors() {
    this.el.querySelectorAll(".error").forEach((e) => e.remove());
    this.el.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
    this.el.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  }
}

function itemId(path, i) { return `f-${[...path, i].join("-")}`; }

function blank(form, schema) {
  const s = form.resolve(schema);
  if (s.type === "object") {
    const out = {};
    for (const [name, prop] of Object.entries(s.properties || {})) {
      const p = form.resolve(prop);
      if (p.type === "array") out[name] = (s.required || []).includes(name) && form.resolve(p.items).type === "object" ? [blank(form, p.items)] : [];
      else if (p.enum) out[name] = p.nullable ? null : p.enum[0];
      else if (p.type === "object") out[name] = blank(form, p);
      else out[name] = p.default ?? (p.nullable ? null : p.type === "string" ? "" : null);
    }
    return out;
  }
  return s.type === "string" ? "" : null;
}

export function blankDocument(schema) {
  const form = { root: schema, resolve: SchemaForm.prototype.resolve };
  return blank(form, schema);
}

function labelOf(title, key) {
  return title || String(key).replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
}

function singular(label) {
  const word = label.replace(/ \*$/, "");
  if (word.endsWith("ies")) return `${word.slice(0, -3)}y`;
  if (word.endsWith("ses")) return word.slice(0, -2);
  return word.endsWith("s") ? word.slice(0, -1) : word;
}
