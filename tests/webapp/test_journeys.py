"""Journeys through the editors' web app in Chromium, against a real `skinkb serve`."""

import re

from tests.webapp.conftest import Server, screenshot

SOURCE = "microneedling-of-the-scalp"


def open_entry(page, collection: str, slug: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/admin/#/c/{collection}/{slug}")
    page.locator("#save").wait_for()


def test_an_editor_fixes_a_typo_and_is_offered_no_publishing(open_app, server: Server) -> None:  # type: ignore[no-untyped-def]
    page = open_app("ed-typo", "editor")
    page.get_by_role("link", name="Side effects").click()
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
