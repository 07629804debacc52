"""`?include=`: related entities embedded in one response, each with its citations.

An include is a comma-separated list of relation paths (`side_effects`, `quotes.expert`); what a
path may name depends on the kind it starts from (`RELATIONS`), and paths go at most
`MAX_DEPTH` relations deep. Embedded entities land under `included`, keyed by relation name, so
they never collide with a field of the entity itself.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session, col

from api.errors import InvalidParameter
from api.kb import queries
from models import Expert, Procedure, Quote, Source, Topic, TopicProcedure
from models.condition import ProcedureConditionPublic
from models.contraindication import ProcedureContraindicationPublic
from models.expert import ExpertCited
from models.ingredient import IngredientSideEffectPublic, ProcedureIngredientPublic
from models.procedure import ProcedureSummary
from models.quote import ProcedureQuotePublic, QuotePublic
from models.side_effect import ProcedureSideEffectPublic
from models.source import SourceSummary

MAX_DEPTH = 2

Tree = dict[str, "Tree"]


@dataclass(frozen=True)
class Relation:
    kind: str  # the kind of what is embedded, whose relations nested paths may name
    fetch: Callable[[Session, str], Any]  # (session, slug of the entity) -> item or items
    model: type[BaseModel]  # how each embedded item shows, as on its own endpoint
    many: bool = True  # a list of items, or one item (or null)


def _summaries(session: Session, *where: Any) -> list[dict[str, Any]]:
    rows = session.execute(
        queries.procedure_summary_select().where(*where).order_by(Procedure.slug)
    )
    return [{k: v for k, v in r._mapping.items() if k != "id"} for r in rows]


def _procedures_listing(kind_name: str) -> Callable[[Session, str], Any]:
    def fetch(session: Session, slug: str) -> list[dict[str, Any]]:
        kind = queries.KIND[kind_name]
        link = kind.links[0]
        term = kind.table
        listed = (
            select(link.table.procedure_id)  # type: ignore[attr-defined]
            .join(term, term.id == getattr(link.table, link.owner_column))  # type: ignore[attr-defined]
            .where(term.slug == slug, queries.published(link.table))  # type: ignore[attr-defined]
        )
        return _summaries(session, col(Procedure.id).in_(listed))

    return fetch


def _listed(kind_name: str) -> Callable[[Session, str], Any]:
    return lambda session, slug: queries.listed_terms(session, kind_name, slug, True)


def _quotes(*where: Any) -> Callable[[Session, str], Any]:
    def fetch(session: Session, slug: str) -> list[dict[str, Any]]:
        rows = session.execute(
            queries.quote_select(*(w(slug) for w in where)).order_by(col(Quote.id))
        ).all()
        return queries.with_tags(session, list(rows))

    return fetch


def _expert_of_quote(session: Session, slug: str) -> dict[str, Any] | None:
    expert = session.scalars(
        select(Expert).join(Quote, col(Quote.expert_id) == Expert.id).where(col(Quote.slug) == slug)
    ).first()
    if expert is None or expert.status != queries.PUBLISHED:
        return None
    out = expert.model_dump(
        include={"slug", "name", "credentials", "role", "affiliation", "location", "specialty"}
    )
    # A stored row's id is never None, though the model types it Optional.
    out["citations"] = queries.read_citations(session, "expert", [expert.id])[expert.id]  # type: ignore[list-item,index]
    return out


def _source_of_quote(session: Session, slug: str) -> dict[str, Any] | None:
    source = session.scalars(
        select(Source).join(Quote, col(Quote.source_id) == Source.id).where(col(Quote.slug) == slug)
    ).first()
    if source is None or source.status != queries.PUBLISHED:
        return None
    return source.model_dump(include={"slug", "title", "publisher", "url", "content_hash"})


RELATIONS: dict[str, dict[str, Relation]] = {
    "procedure": {
        "side_effects": Relation("side_effect", _listed("side_effect"), ProcedureSideEffectPublic),
        "contraindications": Relation(
            "contraindication", _listed("contraindication"), ProcedureContraindicationPublic
        ),
        "ingredients": Relation("ingredient", _listed("ingredient"), ProcedureIngredientPublic),
        "conditions": Relation("condition", _listed("condition"), ProcedureConditionPublic),
        "quotes": Relation(
            "quote", lambda s, slug: queries.quotes_on(s, slug, True), ProcedureQuotePublic
        ),
        "variants": Relation(
            "procedure",
            lambda s, slug: _summaries(
                s,
                col(Procedure.parent_id).in_(
                    select(col(Procedure.id)).where(col(Procedure.slug) == slug)
                ),
            ),
            ProcedureSummary,
        ),
    },
    "side_effect": {
        "procedures": Relation("procedure", _procedures_listing("side_effect"), ProcedureSummary)
    },
    "contraindication": {
        "procedures": Relation(
            "procedure", _procedures_listing("contraindication"), ProcedureSummary
        )
    },
    "condition": {
        "procedures": Relation("procedure", _procedures_listing("condition"), ProcedureSummary)
    },
    "ingredient": {
        "procedures": Relation("procedure", _procedures_listing("ingredient"), ProcedureSummary),
        "side_effects": Relation(
            "side_effect", queries.side_effects_of_ingredient, IngredientSideEffectPublic
        ),
    },
    "quote": {
        "expert": Relation("expert", _expert_of_quote, ExpertCited, many=False),
        "source": Relation("source", _source_of_quote, SourceSummary, many=False),
    },
    "topic": {
        "procedures": Relation(
            "procedure",
            lambda s, slug: _summaries(
                s,
                col(Procedure.id).in_(
                    select(col(TopicProcedure.procedure_id))
                    .join(Topic, col(Topic.id) == TopicProcedure.topic_id)
                    .where(col(Topic.slug) == slug)
                ),
            ),
            ProcedureSummary,
        ),
    },
    "expert": {"quotes": Relation("quote", _quotes(lambda slug: Expert.slug == slug), QuotePublic)},
    "source": {"quotes": Relation("quote", _quotes(lambda slug: Source.slug == slug), QuotePublic)},
}


def paths(kind: str, depth: int = MAX_DEPTH) -> list[str]:
    """Every include path an entity of `kind` accepts."""
    out = []
    for name, relation in RELATIONS.get(kind, {}).items():
        out.append(name)
        if depth > 1:
            out += [f"{name}.{deeper}" for deeper in paths(relation.kind, depth - 1)]
    return out


def pattern(kind: str) -> str:
    """A regular expression of every comma-separated list of include paths `kind` accepts."""
    alternatives = "|".join(
        p.replace(".", r"\.") for p in sorted(paths(kind), key=len, reverse=True)
    )
    return f"^({alternatives})(,({alternatives}))*$"


def parse_include(kind: str, include: str | None) -> Tree:
    """The include tree for an entity of `kind`; 422 naming `include` for unknown or deep paths."""
    tree: Tree = {}
    for path in (include or "").split(",") if include else []:
        names = path.split(".")
        if len(names) > MAX_DEPTH:
            raise InvalidParameter(
                "include", f"include={path!r} is deeper than {MAX_DEPTH} relations."
            )
        node, at = tree, kind
        for name in names:
            relation = RELATIONS.get(at, {}).get(name)
            if relation is None:
                known = ", ".join(sorted(RELATIONS.get(at, {}))) or "nothing"
                raise InvalidParameter(
                    "include", f"include={path!r}: a {at} has no {name!r}; it has {known}."
                )
            node = node.setdefault(name, {})
            at = relation.kind
    return tree


def embed(session: Session, kind: str, item: dict[str, Any], tree: Tree) -> dict[str, Any]:
    """The item with `included` filled from the tree, depth first."""
    if not tree:
        return item
    included: dict[str, Any] = {}
    for name, subtree in tree.items():
        relation = RELATIONS[kind][name]
        found = relation.fetch(session, item["slug"])

        def shown(one: Any, relation: Relation = relation, subtree: Tree = subtree) -> Any:
            as_public = relation.model.model_validate(one).model_dump(mode="json")
            return embed(session, relation.kind, as_public, subtree)

        if isinstance(found, list):
            included[name] = [shown(f) for f in found]
        else:
            included[name] = None if found is None else shown(found)
    return {**item, "included": included}


def with_included(
    session: Session, kind: str, model: type[BaseModel], item: dict[str, Any], include: str | None
) -> dict[str, Any] | None:
    """The item as `model` shows it plus what `include` asks for, every value already of JSON's
    own types; None when nothing is asked for (the item stands as it is)."""
    tree = parse_include(kind, include)
    if not tree:
        return None
    shown = model.model_validate(item).model_dump(mode="json")
    return embed(session, kind, shown, tree)
