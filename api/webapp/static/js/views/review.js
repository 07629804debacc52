// The review queue: every draft and pending edit, with what the public sees beside what waits.

import { ApiError, all, call, can, get, session } from "../api.js";
import { diffTable } from "../diff.js";
import { badge, busy, fill, flash, h, mount, title, when } from "../dom.js";

export async function showReview() {
  const queue = await busy("Collecting drafts and pending edits…", async () => {
    const lists = await Promise.all(session.collections.map(async (c) =>
      (await all(c.name)).filter((e) => e.status === "draft" || e.pending_edit)
        .map((e) => ({ ...e, collection: c.name }))));
    return lists.flat().sort((a, b) => b.updated_at.localeCompare(a.updated_at));
  });
  const detail = h("section", { class: "review-detail", "aria-live": "polite" });

  async function open(item) {
    const path = `${item.collection}/${encodeURIComponent(item.slug)}`;
    const entry = await get(path);
    const problem = h("p", { role: "alert", class: "error" });
    const act = async (action, label) => {
      try {
        await busy(`${label}…`, () => call("POST", `${path}/${action}`, { version: entry.version, idempotent: true }));
        flash(`${label}: ${item.collection}/${item.slug}.`);
        await showReview();
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        problem.textContent = error.message;
      }
    };
    fill(detail,
      h("h2", { tabindex: "-1", id: "review-title" }, `${title(item.collection)}: ${entry.label}`),
      h("p", {}, badge(entry), ` version ${entry.version} · `,
        h("a", { href: `#/c/${path}` }, "Open in the editor"), " · ",
        h("a", { href: `#/c/${path}/history` }, "History")),
      entry.published_document
        ? diffTable(entry.published_document, entry.document, { caption: "Published beside pending" })
        : diffTable({}, entry.document, { caption: "New draft (nothing published yet)", left: "Published", right: "Draft" }),
      problem,
      can("publisher") ? h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", id: "publish", onclick: () => act("publish", "Published") }, "Publish"),
        entry.status === "published"
          ? h("button", { type: "button", id: "unpublish", onclick: () => act("unpublish", "Unpublished") }, "Unpublish") : null)
        : h("p", { class: "muted" }, "A publisher publishes from here."));
    document.getElementById("review-title").focus();
  }

  mount(
    h("h1", {}, "Review"),
    h("p", { class: "muted" }, `${queue.length} waiting: drafts and edits of published entries.`),
    h("div", { class: "review" },
      h("table", { class: "entries" },
        h("thead", {}, h("tr", {}, ["Entry", "Collection", "Status", "Updated"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, queue.map((item) => h("tr", {},
          h("td", {}, h("button", { type: "button", class: "link", onclick: () => open(item) }, item.label)),
          h("td", {}, item.collection), h("td", {}, badge(item)), h("td", {}, when(item.updated_at)))))),
      detail));
}
