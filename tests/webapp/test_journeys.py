"""Journeys through the editors' web app in Chromium, against a real `skinkb serve`."""

import itertools
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from tests.webapp.conftest import Server, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

OpenApp = Callable[..., "Page"]

SOURCE = "microneedling-of-the-scalp"
COUNTER = itertools.count()


def go(page: "Page", screen: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=screen, exact=True).click()


def open_entry(page: "Page", collection: str, slug: str) -> None:
    page.goto(f"/admin/#/c/{collection}/{slug}")
    page.locator("#save").wait_for()


def test_an_editor_fixes_a_typo_and_is_offered_no_publishing(
    open_app: OpenApp, server: Server
) -> None:
    page = open_app("ed-typo", "editor")
    go(page, "Side effects")
    page.get_by_label("Search").fill("bruis")
    screenshot(page, "collection")
    page.get_by_role("link", name="Bruising").click()
    description = page.get_by_label("Description")
    description.fill(description.input_value().replace("bruising", "bruisng", 1) + " Fixed typo.")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved as a pending edit").wait_for()
    assert page.get_by_role("button", name=re.compile("Publish")).count() == 0
    assert page.get_by_role("link", name="Keys").count() == 0
    assert "Fixed typo." in page.get_by_label("Description").input_value()
    screenshot(page, "entry-editor")


def admin_api(server: Server, role: str = "publisher") -> httpx.Client:
    return admin_api_with(server, server.key(f"api-{role}-{next(COUNTER)}", role))


def edit(api: httpx.Client, path: str, **changes: object) -> dict:
    version = api.get(path).json()["version"]
    answer = api.patch(path, json=changes, headers={"If-Match": f'"{version}"'})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def select_in_source(page: "Page", passage: str) -> None:
    """Select a passage of the source text, as a drag over it (or Shift+arrows) would."""
    text = page.locator("#source-text")
    # Waited for from here, not by a predicate string the page's CSP would refuse to evaluate.
    text.evaluate(
        """area => new Promise(loaded => {
            const check = () => (area.value.length > 0 ? loaded(true) : setTimeout(check, 50));
            check();
        })"""
    )
    text.evaluate(
        """(area, passage) => {
            const start = area.value.indexOf(passage);
            area.focus();
            area.setSelectionRange(start, start + passage.length);
            area.dispatchEvent(new Event("select"));
        }""",
        passage,
    )


def test_an_editor_adds_a_side_effect_citing_a_passage_picked_in_the_source(
    open_app: OpenApp, server: Server
) -> None:
    page = open_app("ed-cite", "editor")
    open_entry(page, "side-effects", "bleeding")
    page.get_by_role("button", name="Add procedure").click()
    page.locator("#f-procedures-2-procedure").fill("microneedling-with-prp")
    page.locator("#f-procedures-2-note").fill("Redness or bleeding after the session.")
    page.locator("#f-procedures-2-citations-0-source").fill(SOURCE)
    page.locator("#f-procedures-2-citations-0-excerpt").fill("Bleeding is guaranteed.")
    page.get_by_role("button", name="Save").click()
    # The API refuses an excerpt that is not in the source: shown by that very field.
    error = page.locator('[data-loc="procedures.2.citations.0.excerpt"] .error')
    error.wait_for()
    excerpt = page.locator("#f-procedures-2-citations-0-excerpt")
    assert excerpt.get_attribute("aria-invalid") == "true"

    page.locator('[data-loc="procedures.2.citations.0"]').get_by_role(
        "button", name="Pick excerpt from source"
    ).click()
    passage = "You may experience some redness or bleeding"
    select_in_source(page, passage)
    page.get_by_role("button", name="Use selected text as excerpt").click()
    assert excerpt.input_value() == passage
    screenshot(page, "citation-picker")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved as a pending edit").wait_for()

    api = admin_api(server, "editor")
    listed = api.get("/side-effects/bleeding").json()["document"]["procedures"]
    assert {
        "procedure": "microneedling-with-prp",
        "note": "Redness or bleeding after the session.",
        "citations": [{"source": SOURCE, "excerpt": passage, "about": None}],
    } in listed


def test_a_publisher_reviews_the_diff_and_publishes(open_app: OpenApp, server: Server) -> None:
    tight = "Skin feels tight for a day."
    edit(admin_api(server, "editor"), "/side-effects/tightness", description=tight)
    page = open_app("pub-review", "publisher")
    go(page, "Review")
    page.get_by_role("button", name="Tightness").click()
    diff = page.locator("table.diff")
    diff.get_by_text(tight).wait_for()
    assert diff.locator("tbody th").all_inner_texts() == ["description"]
    screenshot(page, "review")
    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_text("Published: side-effects/tightness").wait_for()
    assert server.public("/v1/side-effects/tightness")["description"] == tight
    # The queue reloads after the publish: the entry leaves it (waited for, up to the timeout).
    page.get_by_role("button", name="Tightness").wait_for(state="detached")


def test_two_editors_save_the_same_entry_and_both_edits_stay(
    open_app: OpenApp, server: Server
) -> None:
    first = open_app("ed-first", "editor")
    second = open_app("ed-second", "editor")
    open_entry(first, "side-effects", "itching")
    open_entry(second, "side-effects", "itching")
    first.get_by_label("Name *").fill("Itching (pruritus)")
    first.get_by_role("button", name="Save").click()
    first.get_by_text("Saved as a pending edit").wait_for()

    second.get_by_label("Description").fill("An itchy scalp while the skin heals.")
    second.get_by_role("button", name="Save").click()
    conflict = second.locator("section.conflict")
    conflict.get_by_text("Someone saved this entry while you were editing").wait_for()
    conflict.get_by_text("Itching (pruritus)").first.wait_for()
    screenshot(second, "conflict")
    second.get_by_role("button", name="Apply my changes to the current version").click()
    second.get_by_text("Saved as a pending edit").wait_for()

    document = admin_api(server, "editor").get("/side-effects/itching").json()["document"]
    assert document["name"] == "Itching (pruritus)"
    assert document["description"] == "An itchy scalp while the skin heals."


def test_an_editor_restores_a_revision(open_app: OpenApp, server: Server) -> None:
    api = admin_api(server, "editor")
    edit(api, "/side-effects/dryness-and-peeling", description="Dry, flaking skin for a few days.")
    edit(api, "/side-effects/dryness-and-peeling", description="Vandalised.")
    page = open_app("ed-history", "editor")
    open_entry(page, "side-effects", "dryness-and-peeling")
    page.get_by_role("link", name="History").click()
    page.get_by_text("Vandalised.").first.wait_for()
    screenshot(page, "history")
    page.get_by_role("button", name="Restore revision 1").click()
    page.get_by_text("Revision 1 restored").wait_for()
    page.get_by_role("heading", name="#3 restore").wait_for()
    document = api.get("/side-effects/dryness-and-peeling").json()["document"]
    assert document["description"] == "Dry, flaking skin for a few days."


def test_an_admin_makes_a_key_and_reads_the_audit_log(open_app: OpenApp, server: Server) -> None:
    page = open_app("the-admin", "admin")
    go(page, "Keys")
    page.get_by_label("Name").fill("new-editor")
    page.get_by_label("Role").select_option("editor")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert key and admin_api_with(server, key).get("/whoami").json() == {
        "name": "new-editor",
        "role": "editor",
    }
    screenshot(page, "keys")
    go(page, "Audit log")
    row = page.locator("table.audit tbody tr", has_text="keys/new-editor")
    row.wait_for()
    assert "key.create" in row.inner_text() and "the-admin" in row.inner_text()
    screenshot(page, "audit")


def test_an_import_is_previewed_before_it_is_written(open_app: OpenApp, server: Server) -> None:
    api = admin_api(server, "editor")
    burns = api.get("/side-effects/burns").json()["document"]
    payload = {"side_effects": [{**burns, "description": "Imported description."}]}
    page = open_app("pub-import", "publisher")
    go(page, "Import")
    page.get_by_label("Or paste the JSON").fill(json.dumps(payload))
    page.get_by_role("button", name="Preview (dry run)").click()
    page.locator("tr.changed", has_text="burns").wait_for()
    assert description_of(api, "burns") != "Imported description."
    screenshot(page, "import")
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_role("heading", name="Imported").wait_for()
    assert description_of(api, "burns") == "Imported description."


def test_an_editor_is_not_offered_what_the_role_cannot_do_and_signs_out(open_app: OpenApp) -> None:
    page = open_app("ed-nav", "editor", width=800)
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Side effects").count() == 1
    for hidden in ("Import", "Keys", "Audit log"):
        assert nav.get_by_role("link", name=hidden).count() == 0
    open_entry(page, "procedures", "scalp-microneedling")
    screenshot(page, "entry-editor-tablet")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API key").wait_for()
    assert page.evaluate("sessionStorage.length") == 0


def admin_api_with(server: Server, key: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.Client(base_url=f"{server.base_url}/v1/admin", headers=headers)


def description_of(api: httpx.Client, slug: str) -> str | None:
    return api.get(f"/side-effects/{slug}").json()["document"]["description"]  # type: ignore[no-any-return]


def test_the_api_docs_render_without_the_internet(browser: "Browser", server: Server) -> None:
    context = browser.new_context(base_url=server.base_url)
    elsewhere: list[str] = []

    def refuse(route: "Route") -> None:
        elsewhere.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), refuse)
    page = context.new_page()
    page.goto("/docs")
    page.locator(".swagger-ui .info .title", has_text="SkinKB").wait_for()
    page.goto("/redoc")
    page.locator("redoc h1", has_text="SkinKB").wait_for()
    context.close()
    # Only ReDoc's "API docs by Redocly" footer logo, which its bundle names by URL; refused, the
    # docs render all the same.
    assert set(elsewhere) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
