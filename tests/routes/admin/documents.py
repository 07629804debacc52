"""A small new article and one document of every kind citing it, as an editor would send them."""

from typing import Any

SOURCE = "a-test-article"
TEXT = (
    "Scalp tingling is common after needling.\n"
    "Dr. Jane Roe is a dermatologist in Testville.\n"
    '"Keep the roller clean and dry," says Dr. Roe.\n'
    "Avoid needling over an open wound.\n"
    "A gentle serum soothes the scalp afterwards.\n"
    "It may help with thinning crowns."
)
GENERAL = "scalp-microneedling"


def cite(excerpt: str) -> list[dict[str, Any]]:
    return [{"source": SOURCE, "excerpt": excerpt}]


# In an order that writes every entry after what it points at.
DOCUMENTS: dict[str, dict[str, Any]] = {
    "sources": {
        "slug": SOURCE,
        "title": "A test article",
        "publisher": "Test Press",
        "url": "https://example.org/test-article",
        "text": TEXT,
    },
    "experts": {
        "slug": "jane-roe",
        "name": "Dr. Jane Roe",
        "role": "dermatologist",
        "location": "Testville",
        "citations": cite("Dr. Jane Roe is a dermatologist in Testville."),
    },
    "procedures": {
        "slug": "test-needling",
        "name": "Test needling",
        "parent": GENERAL,
        "kind": "variant",
        "setting": "at-home",
        "citations": cite("Scalp tingling is common after needling."),
        "steps": [
            {
                "kind": "aftercare",
                "text": "Apply a gentle serum.",
                "citations": cite("A gentle serum soothes the scalp afterwards."),
            }
        ],
    },
    "side-effects": {
        "slug": "scalp-tingling",
        "name": "Scalp tingling",
        "procedures": [
            {"procedure": GENERAL, "citations": cite("Scalp tingling is common after needling.")}
        ],
    },
    "contraindications": {
        "slug": "open-wound",
        "name": "Open wound on the scalp",
        "procedures": [
            {
                "procedure": GENERAL,
                "level": "avoid",
                "citations": cite("Avoid needling over an open wound."),
            }
        ],
    },
    "ingredients": {
        "slug": "gentle-serum",
        "name": "Gentle serum",
        "kind": "serum",
        "procedures": [
            {
                "procedure": GENERAL,
                "role": "aftercare",
                "citations": cite("A gentle serum soothes the scalp afterwards."),
            }
        ],
    },
    "conditions": {
        "slug": "thinning-crowns",
        "name": "Thinning crowns",
        "procedures": [
            {"procedure": GENERAL, "citations": cite("It may help with thinning crowns.")}
        ],
    },
    "quotes": {
        "slug": "roe-keep-it-clean",
        "expert": "jane-roe",
        "source": SOURCE,
        "text": "Keep the roller clean and dry,",
        "procedures": [GENERAL],
    },
    "topics": {
        "slug": "test-roller-care",
        "name": "Roller care",
        "question": "Should the roller be kept clean?",
        "answer_type": "text",
        "procedures": [GENERAL],
    },
    "positions": {
        "slug": "test-roller-care-roe",
        "topic": "test-roller-care",
        "source": SOURCE,
        "expert": "jane-roe",
        "statement": "Dr. Roe says to keep the roller clean.",
        "answer": "yes",
        "procedure": GENERAL,
        "evidence": "expert",
        "citations": cite("Keep the roller clean and dry"),
    },
}
COLLECTIONS = list(DOCUMENTS)
# A field each collection's documents have that an edit may change, with a new value.
EDITS: dict[str, dict[str, Any]] = {
    "sources": {"title": "A retitled article"},
    "experts": {"specialty": "hair loss"},
    "procedures": {"device": "a test roller"},
    "side-effects": {"description": "A tingling of the scalp."},
    "contraindications": {"aliases": ["scalp wound"]},
    "ingredients": {"aliases": ["soothing serum"]},
    "conditions": {"description": "Hair thinning at the crown."},
    "quotes": {"topics": ["sanitation"]},
    "topics": {"question": "Is a clean roller needed?"},
    "positions": {"statement": "Dr. Roe says to keep the roller clean and dry."},
}


def create_all(client: Any, upto: str | None = None) -> dict[str, str]:
    """Create the documents in order (as drafts) up to and including `upto`; their ETags."""
    etags = {}
    for collection, document in DOCUMENTS.items():
        r = client.post(f"/v1/admin/{collection}", json=document)
        assert r.status_code == 201, r.text
        etags[collection] = r.headers["ETag"]
        if collection == upto:
            break
    return etags
