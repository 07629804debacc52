"""What editors have not published never shows on the public API.

The snapshot test reads every public answer, has an editor make a draft of every kind, a
pending edit of every kind and a link of every kind, and reads them all again: byte for byte
the same. It finds collections, routes, include paths and link kinds by itself, so what is
added later is covered too.
"""

import copy
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session

from api.http import jsonld
from api.kb import include
from api.kb.editing import COLLECTIONS
from api.main import app
from api.routes.admin.links import LINKS
from models import Source
from seed_data.loader import read_seed_files
from tests.routes.admin.conftest import Admin

ZOE = "microneedling-might-be-the-secret-to-preventing-hair-loss"
SERUMS = "scalp-serums-and-at-home-microneedling"


class TestSourceExperts:
    def test_a_draft_quote_adds_no_expert(self, client: TestClient, editor: Admin) -> None:
        before = client.get(f"/v1/sources/{ZOE}").json()
        quote = {
            "slug": "baum-draft-in-zoe",
            "expert": "bertha-baum",
            "source": ZOE,
            "text": "Each derma-roller is covered in tiny needles",
        }
        assert editor.post("/v1/admin/quotes", json=quote).status_code == 201
        after = client.get(f"/v1/sources/{ZOE}").json()
        assert "bertha-baum" not in after["experts"]
        assert after == before
        listed = client.get(f"/v1/experts?source={ZOE}").json()["items"]
        assert "bertha-baum" not in {e["slug"] for e in listed}

    def test_an_archived_experts_quotes_do_not_count(
        self, client: TestClient, publisher: Admin
    ) -> None:
        before = client.get(f"/v1/sources/{ZOE}").json()["quote_count"]
        url = "/v1/admin/experts/joshua-zeichner"
        r = publisher.post(f"{url}/unpublish", headers={"If-Match": publisher.etag(url)})
        assert r.status_code == 200, r.text
        assert client.get(f"/v1/sources/{ZOE}").json()["quote_count"] == before - 2
        assert client.get(f"/v1/quotes?source={ZOE}").json()["total"] == before - 2


class TestExpertQuoteCount:
    def test_counts_only_quotes_of_published_sources(
        self, client: TestClient, session: Session
    ) -> None:
        assert client.get("/v1/experts/patricia-pol").json()["quote_count"] == 6
        # Not reachable through the admin API (a cited source stays published); stored anyway.
        session.execute(update(Source).where(Source.slug == SERUMS).values(status="archived"))  # type: ignore[arg-type]
        session.flush()
        body = client.get("/v1/experts/patricia-pol").json()
        assert body["quote_count"] == client.get("/v1/experts/patricia-pol/quotes").json()["total"]
        assert body["quote_count"] == 0


# --- the snapshot ----------------------------------------------------------------------------

SEARCHED = ("scalp", "needle", "serum", "redness", "minoxidil", "hair loss")
# The kind a public collection path holds, by its first segment ("side-effects").
KIND_OF = {path: kind.name for path, kind in COLLECTIONS.items()}


# Collections without a public list of their own, and the details that name their entries.
NAMED_WITHIN = {"positions": ("topics", "positions")}


def public_get_paths() -> list[str]:
    return [
        path
        for path, operations in app.openapi()["paths"].items()
        if "get" in operations and path.startswith("/v1/") and not path.startswith("/v1/admin")
    ]


def speaks_jsonld(path: str) -> bool:
    operation = app.openapi()["paths"][path]["get"]
    return jsonld.MEDIA_TYPE in operation["responses"].get("200", {}).get("content", {})


class Snapshot:
    """Every public answer by request: status and body bytes."""

    def __init__(self, client: TestClient):
        self.client = client
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.slugs: dict[str, list[str]] = {}

    def get(self, url: str, accept: str | None = None) -> Any:
        r = self.client.get(url, headers={"Accept": accept} if accept else {})
        assert r.status_code < 500, (url, r.text)
        self.answers[f"{url} [{accept}]" if accept else url] = (r.status_code, r.content)
        return r

    def every_page(self, url: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        next_url: str | None = url + ("&" if "?" in url else "?") + "limit=100"
        while next_url:
            body = self.get(next_url).json()
            items += body["items"]
            nxt = urlsplit(body["next"]) if body.get("next") else None
            next_url = f"{nxt.path}?{nxt.query}" if nxt else None
        return items

    def take(self) -> "Snapshot":
        paths = public_get_paths()
        lists = [p for p in paths if "{" not in p and p.count("/") == 2 and p[4:] in KIND_OF]
        for path in lists:
            self.slugs[path[4:]] = [i["slug"] for i in self.every_page(path)]
            self.get(path)  # the first page as a client sees it, default limit
        for collection, (owner, key) in NAMED_WITHIN.items():
            self.slugs.setdefault(collection, [])
            for slug in self.slugs[owner]:
                found = self.get(f"/v1/{owner}/{slug}").json()[key]
                self.slugs[collection] += [item["slug"] for item in found]
        for path in lists:
            self.filtered_lists(path)
        for path in paths:
            if "{" in path:
                self.details(path)
        for words in SEARCHED:
            self.get(f"/v1/search?q={words}")
        for path in paths:
            if "{" not in path and path not in lists and path != "/v1/search":
                self.get(path)  # stats and whatever else needs no parameter
        return self

    def filtered_lists(self, path: str) -> None:
        """The list filtered by every published entry of each kind it filters by."""
        operation = app.openapi()["paths"][path]["get"]
        for parameter in operation.get("parameters", []):
            collection = next((c for c, k in KIND_OF.items() if k == parameter["name"]), None)
            if collection is None:
                continue
            for slug in self.slugs[collection]:
                self.every_page(f"{path}?{parameter['name']}={slug}")

    def details(self, path: str) -> None:
        collection = path.split("/")[2]
        assert collection in self.slugs, f"{path}: which entries does it answer for?"
        kind = KIND_OF[collection]
        includes = include.paths(kind) if path.count("/") == 3 else []
        for slug in self.slugs[collection]:
            url = path.split("{")[0] + slug + path.split("}")[1]
            self.get(url)
            for relation in includes:
                self.get(f"{url}?include={relation}")
            if speaks_jsonld(path):
                self.get(url, accept=jsonld.MEDIA_TYPE)


# --- what editors do -------------------------------------------------------------------------


def make_drafts(editor: Admin, published: dict[str, list[str]]) -> list[str]:
    """A draft of every collection: a copy of its first seed document under a new slug, and
    copies pointing at other published entries (a quote of another expert) where valid."""
    seeds = read_seed_files()
    made = []
    for collection, kind in COLLECTIONS.items():
        document = copy.deepcopy(seeds[kind.file][0])
        document["slug"] = f"draft-{document['slug']}"[:120]
        r = editor.post(f"/v1/admin/{collection}", json=document)
        assert r.status_code == 201, (collection, r.text)
        assert r.json()["status"] == "draft"
        made.append(collection)
        for n, variant in enumerate(_repointed(document, published)):
            variant["slug"] = f"draft-{n}-{variant['slug']}"[:120]
            r = editor.post(f"/v1/admin/{collection}", json=variant)
            assert r.status_code in (201, 422), (collection, r.text)
    return made


def _repointed(document: dict[str, Any], published: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The document with one field that names a published entry naming each other one instead."""
    return [
        {**document, key: other}
        for key, value in document.items()
        for slugs in published.values()
        if key != "slug" and value in slugs
        for other in slugs
        if other != value
    ]


def _edits_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Changes a document may take: each text field reworded, each list of words extended."""
    edits: list[dict[str, Any]] = []
    for key, value in document.items():
        if key == "slug":
            continue
        if isinstance(value, str):
            edits.append({key: value + " (edited)"})
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            edits.append({key: [*value, "edited"]})
    return edits


def make_pending_edits(editor: Admin) -> list[str]:
    """A pending edit of a published entry of every collection."""
    made = []
    for collection in COLLECTIONS:
        page = editor.get(f"/v1/admin/{collection}?status=published&limit=1").json()
        url = f"/v1/admin/{collection}/{page['items'][0]['slug']}"
        entry = editor.get(url).json()
        for change in _edits_of(entry["document"]):
            r = editor.patch(url, json=change, headers={"If-Match": editor.etag(url)})
            if r.status_code == 200:
                assert r.json()["pending_edit"], (collection, r.text)
                made.append(collection)
                break
            assert r.status_code == 422, (collection, change, r.text)
    return made


def make_links(editor: Admin) -> list[str]:
    """A link of every kind (a change of a published term, pending) and a quote's new tag."""
    seeds = read_seed_files()
    made = []
    for link in LINKS:
        term = link.term
        target = next(lk.target for lk in term.links if lk.key == link.key)
        # A listing a term has, copied to an owner it is not listed for yet.
        listed = next(t for t in seeds[term.file] if t[link.key])
        item = listed[link.key][0]
        owner = next(
            o["slug"]
            for o in seeds[link.owner.replace("-", "_")]
            if all(i[target] != o["slug"] for i in listed[link.key])
        )
        body = {k: v for k, v in item.items() if k != target} | {term.name: listed["slug"]}
        r = editor.post(f"/v1/admin/{link.owner}/{owner}/{link.path}", json=body)
        assert r.status_code == 201, (link, r.text)
        assert r.json()["pending_edit"]
        made.append(f"{link.owner}/{link.path}")
    quote = seeds["quotes"][0]
    untagged = next(p["slug"] for p in seeds["procedures"] if p["slug"] not in quote["procedures"])
    r = editor.post(f"/v1/admin/quotes/{quote['slug']}/procedures", json={"procedure": untagged})
    assert r.status_code == 201, r.text
    made.append("quotes/procedures")
    return made


def test_drafts_pending_edits_and_links_change_no_public_answer(
    client: TestClient, editor: Admin
) -> None:
    before = Snapshot(client).take()
    drafts = make_drafts(editor, before.slugs)
    pending = make_pending_edits(editor)
    links = make_links(editor)
    after = Snapshot(client).take()

    assert drafts == pending == list(COLLECTIONS)
    assert len(links) == len(LINKS) + 1
    assert after.answers.keys() == before.answers.keys()
    changed = [url for url in before.answers if after.answers[url] != before.answers[url]]
    assert changed == []
    print(
        f"{len(before.answers)} public URLs; {len(drafts)} draft kinds, {len(pending)} "
        f"pending-edit kinds, {len(links)} link kinds"
    )
