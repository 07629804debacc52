// An entry's revisions, newest first: who, when, what changed; restore one as a new change.

import { ApiError, call, get } from "../api.js";
import { revisionDiff } from "../diff.js";
import { busy, flash, h, mount, title, when } from "../dom.js";

export async function showHistory(name, slug) {
  const path = `${name}/${encodeURIComponent(slug)}`;
  const [entry, revisions] = await busy("Loading history…", () =>
    Promise.all([get(path), get(`${path}/revisions`)]));
  const problem = h("div", { role: "alert", class: "problem" });

  async function restore(number) {
    try {
      await busy(`Restoring revision ${number}…`, () =>
        call("POST", `${path}/revisions/${number}/restore`, { version: entry.version, idempotent: true }));
      flash(`Revision ${number} restored as a new change.`);
      await showHistory(name, slug);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      problem.textContent = error.status === 412
        ? "The entry changed meanwhile; the history below is reloaded, try again."
        : error.message;
      if (error.status === 412) setTimeout(() => showHistory(name, slug), 1500);
    }
  }

  mount(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: `#/c/${name}` }, title(name)), " / ",
      h("a", { href: `#/c/${name}/${encodeURIComponent(slug)}` }, slug), " / history"),
    h("h1", {}, `History of ${entry.label}`),
    problem,
    h("ol", { class: "revisions", reversed: true }, [...revisions].reverse().map((r) =>
      h("li", { class: "card revision", dataset: { number: r.number } },
        h("div", { class: "heading" },
          h("h2", {}, `#${r.number} ${r.action}`),
          h("span", { class: "muted" }, `by ${r.author}, ${when(r.at)} — version ${r.version}, ${r.status}`),
          r.document && r.number !== revisions.length
            ? h("button", { type: "button", onclick: () => restore(r.number),
                "aria-label": `Restore revision ${r.number}` }, "Restore") : null),
        revisionDiff(r.diff)))));
}
