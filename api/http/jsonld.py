"""schema.org JSON-LD for search engines: `Accept: application/ld+json` on an entity.

Only schema.org's own types and properties, each within its domain and range (clients/check has
tsc check every answer against Google's schema-dts). A procedure is a MedicalTherapy (the
MedicalProcedure subtype with adverseOutcome and contraindication; also howPerformed, preparation,
followup); an ingredient a Drug or, for the rest, a MedicalTherapy; a condition a MedicalCondition
(possibleTreatment: the procedures); an expert a Person; a quote a Quotation (spokenByCharacter,
isBasedOn its source); a topic a Question whose suggested answers are the sources' positions
(Answer: text, author, citation its article). A Drug has no adverse outcomes in schema.org, a
therapy with it has: a drug's side effects go on a MedicalTherapy node (`drug` the drug), beside
it in an `@graph`.
Every statement carries what backs it: `subjectOf` lists the verbatim excerpts, each `isPartOf`
the source article; the excerpts saying an ingredient is used with a procedure are `about` it.
"""

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from api.config import settings

MEDIA_TYPE = "application/ld+json"
CONTEXT = "https://schema.org"
# Kinds of ingredient that are medicines; the rest (PRP, serums, balms, ...) are therapies.
DRUG_KINDS = {"drug", "corticosteroid", "anesthetic", "antibiotic", "antiseptic", "retinoid"}
PROCEDURE = "MedicalTherapy"
JSONLD_SCHEMA_NAME = "JsonLd"
NODE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["@type", "@id"],
    "properties": {
        "@type": {"type": "string"},
        "@id": {"type": "string", "format": "uri"},
        "name": {"type": "string"},
    },
    "additionalProperties": True,
}
# What the OpenAPI promises of a JSON-LD answer: a schema.org node, or (a drug and the therapy
# with it) a graph of nodes; their other properties depend on their type (schema.org/<type>).
JSONLD_SCHEMA: dict[str, Any] = {
    "title": JSONLD_SCHEMA_NAME,
    "description": "schema.org JSON-LD: one node, or an `@graph` of nodes; see "
    "https://schema.org/ for each node's type.",
    "type": "object",
    "required": ["@context"],
    "properties": {
        "@context": {"type": "string", "enum": [CONTEXT]},
        **NODE_SCHEMA["properties"],
        "@graph": {"type": "array", "items": NODE_SCHEMA},
    },
    "additionalProperties": True,
}
JSONLD_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{JSONLD_SCHEMA_NAME}"}}},
        "description": "JSON, or schema.org JSON-LD with `Accept: application/ld+json`",
    }
}


def wanted(request: Request) -> bool:
    """True when the client asks for JSON-LD (and has not refused it with q=0)."""
    for part in request.headers.get("accept", "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() == MEDIA_TYPE:
            return not any(p.replace(" ", "") in ("q=0", "q=0.0") for p in params)
    return False


class Document:
    """Builds one JSON-LD document: absolute ids, and the source articles (by slug: title,
    url, publisher) its citations name."""

    def __init__(self, request: Request, sources: dict[str, dict[str, Any]]) -> None:
        self.base = (settings.public_base_url or str(request.base_url)).rstrip("/")
        self.sources = sources

    def url(self, collection: str, slug: str) -> str:
        return f"{self.base}/v1/{collection}/{slug}"

    def article(self, slug: str) -> dict[str, Any]:
        source = self.sources.get(slug)
        node: dict[str, Any] = {"@type": "Article", "@id": self.url("sources", slug)}
        if source is not None:
            node["headline"] = source["title"]
            if source["url"]:
                node["url"] = source["url"]
            if source["publisher"]:
                node["publisher"] = {"@type": "Organization", "name": source["publisher"]}
        return node

    def excerpt(self, citation: dict[str, Any]) -> dict[str, Any]:
        """A verbatim excerpt, part of its source article."""
        return {
            "@type": "CreativeWork",
            "text": citation["excerpt"],
            "isPartOf": self.article(citation["source"]),
        }

    def backed(self, node: dict[str, Any], citations: list[dict[str, Any]]) -> dict[str, Any]:
        """The node with the excerpts that back it."""
        node["subjectOf"] = [self.excerpt(c) for c in citations]
        return node

    def procedure(self, slug: str, name: str | None = None) -> dict[str, Any]:
        node = {"@type": PROCEDURE, "@id": self.url("procedures", slug)}
        return node if name is None else {**node, "name": name}

    def term(self, type_: str, collection: str, row: dict[str, Any]) -> dict[str, Any]:
        """A listed term (side effect, contraindication, ...) backed by its link's citations."""
        node = {"@type": type_, "@id": self.url(collection, row["slug"]), "name": row["name"]}
        if row.get("aliases"):
            node["alternateName"] = row["aliases"]
        return self.backed(node, row["citations"])


# Sites paste JSON-LD into <script type="application/ld+json">: text must neither end that
# element (`</script>`, `<!--`) nor a JavaScript line (U+2028, U+2029). Outside strings JSON
# has none of these characters, so escaping them keeps the same parsed value.
_SCRIPT_SAFE = str.maketrans({c: f"\\u{ord(c):04x}" for c in ("<", ">", "&", "\u2028", "\u2029")})


class ScriptSafeJSONResponse(JSONResponse):
    """JSON with `<`, `>`, `&`, U+2028 and U+2029 written as \\u escapes."""

    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return super().render(content).decode().translate(_SCRIPT_SAFE).encode()


def _answer(node: dict[str, Any]) -> JSONResponse:
    return ScriptSafeJSONResponse({"@context": CONTEXT, **node})


def _steps_text(steps: list[dict[str, Any]], kind: str) -> str | None:
    texts = [s["text"] for s in steps if s["kind"] == kind]
    return " ".join(texts) if texts else None


def procedure(
    doc: Document,
    detail: dict[str, Any],
    side_effects: list[dict[str, Any]],
    contraindications: list[dict[str, Any]],
) -> JSONResponse:
    slug = detail["slug"]
    node: dict[str, Any] = {**doc.procedure(slug, detail["name"]), "bodyLocation": "scalp"}
    if detail["summary"]:
        node["description"] = detail["summary"]
    for key, kind in (
        ("howPerformed", "protocol"),
        ("preparation", "preparation"),
        ("followup", "aftercare"),
    ):
        text = _steps_text(detail["steps"], kind)
        if text:
            node[key] = text
    node["adverseOutcome"] = [doc.term("MedicalEntity", "side-effects", r) for r in side_effects]
    node["contraindication"] = [
        doc.term("MedicalContraindication", "contraindications", r) for r in contraindications
    ]
    cited = list(detail["citations"])
    for step in detail["steps"]:
        cited += step["citations"]
    return _answer(doc.backed(node, cited))


def ingredient(doc: Document, detail: dict[str, Any]) -> JSONResponse:
    drug = detail["kind"] in DRUG_KINDS
    node: dict[str, Any] = {
        "@type": "Drug" if drug else "MedicalTherapy",
        "@id": doc.url("ingredients", detail["slug"]),
        "name": detail["name"],
    }
    if detail["aliases"]:
        node["alternateName"] = detail["aliases"]
    if detail["description"]:
        node["description"] = detail["description"]
    # Each use with a procedure: the excerpts that say so, about that procedure.
    node["subjectOf"] = [
        {**doc.excerpt(c), "about": doc.procedure(use["procedure"], use["procedure_name"])}
        for use in detail["procedures"]
        for c in use["citations"]
    ]
    outcomes = [doc.term("MedicalEntity", "side-effects", r) for r in detail["side_effects"]]
    if not drug:
        node["adverseOutcome"] = outcomes
        return _answer(node)
    therapy = {
        "@type": "MedicalTherapy",
        "@id": node["@id"] + "#therapy",
        "name": f"Therapy with {detail['name']}",
        "drug": {"@id": node["@id"]},
        "adverseOutcome": outcomes,
    }
    return _answer({"@graph": [node, therapy]})


def condition(doc: Document, detail: dict[str, Any]) -> JSONResponse:
    node: dict[str, Any] = {
        "@type": "MedicalCondition",
        "@id": doc.url("conditions", detail["slug"]),
        "name": detail["name"],
    }
    if detail["aliases"]:
        node["alternateName"] = detail["aliases"]
    if detail["description"]:
        node["description"] = detail["description"]
    node["possibleTreatment"] = [
        doc.backed(
            doc.procedure(listing["procedure"], listing["procedure_name"]), listing["citations"]
        )
        for listing in detail["procedures"]
    ]
    return _answer(node)


def expert(doc: Document, detail: dict[str, Any]) -> JSONResponse:
    node: dict[str, Any] = {
        "@type": "Person",
        "@id": doc.url("experts", detail["slug"]),
        "name": detail["name"],
        "jobTitle": detail["role"],
    }
    if detail["credentials"]:
        node["honorificSuffix"] = ", ".join(detail["credentials"])
    if detail["affiliation"]:
        node["affiliation"] = {"@type": "Organization", "name": detail["affiliation"]}
    if detail["location"]:
        node["homeLocation"] = {"@type": "Place", "name": detail["location"]}
    if detail["specialty"]:
        node["knowsAbout"] = detail["specialty"]
    return _answer(doc.backed(node, detail["citations"]))


def quote(doc: Document, detail: dict[str, Any]) -> JSONResponse:
    node = {
        "@type": "Quotation",
        "@id": doc.url("quotes", detail["slug"]),
        "text": detail["text"],
        "spokenByCharacter": {
            "@type": "Person",
            "@id": doc.url("experts", detail["expert"]),
            "name": detail["expert_name"],
        },
        "isBasedOn": doc.article(detail["source"]),
        "about": [doc.procedure(p) for p in detail["procedures"]],
    }
    if detail["topics"]:
        node["keywords"] = detail["topics"]
    return _answer(node)


def topic(doc: Document, detail: dict[str, Any]) -> JSONResponse:
    """A Question; each source's position a suggested Answer, by its expert when one speaks."""
    answers = []
    for position in detail["positions"]:
        answer: dict[str, Any] = {
            "@type": "Answer",
            "@id": doc.url("positions", position["slug"]),
            "text": position["statement"],
            "citation": doc.article(position["source"]),
        }
        if position["expert"]:
            answer["author"] = {
                "@type": "Person",
                "@id": doc.url("experts", position["expert"]),
                "name": position["expert_name"],
            }
        answers.append(doc.backed(answer, position["citations"]))
    node: dict[str, Any] = {
        "@type": "Question",
        "@id": doc.url("topics", detail["slug"]),
        "name": detail["name"],
        "text": detail["question"],
        "answerCount": len(answers),
        "suggestedAnswer": answers,
        "about": [
            {"@type": "MedicalProcedure", "@id": doc.url("procedures", p)}
            for p in detail["procedures"]
        ],
    }
    return _answer(node)
