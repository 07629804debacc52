"""`citation_list` (migration 0006): each cited subject's citations as the JSON array the API
shows, kept by triggers. It must be, byte for byte, what orjson makes of the citations read
from their table, after every kind of change, on the database the suite targets."""

import orjson
from sqlalchemy import select, text
from sqlmodel import Session, col

from api.kb.documents import read_citations
from models import Citation, Source
from models.base import CitationPublic
from models.search import citation_list

# Every ASCII control character but NUL (which no back end stores in text), the characters JSON
# escapes, and a few beyond ASCII that need none.
AWKWARD = (
    "".join(chr(i) for i in range(1, 0x20)) + ' "quoted" back\\slash / é 漢 \u2028 \u2029 😀 \x7f'
)


def lists(session: Session) -> dict[tuple[str, int], str]:
    rows = session.execute(select(citation_list)).all()
    return {(kind, subject): citations for kind, subject, citations in rows}


def as_the_api_shows_them(session: Session) -> dict[tuple[str, int], str]:
    """The citations of every cited subject, read from their table and rendered with orjson."""
    subjects: dict[str, list[int]] = {}
    for kind, subject in session.execute(
        select(col(Citation.subject_type), col(Citation.subject_id)).distinct()
    ):
        subjects.setdefault(kind, []).append(subject)
    out = {}
    for kind, ids in subjects.items():
        for subject, cited in read_citations(session, kind, ids).items():
            shown = [CitationPublic.model_validate(c).model_dump() for c in cited]
            out[(kind, subject)] = orjson.dumps(shown).decode()
    return out


def assert_in_step(session: Session) -> None:
    session.flush()
    assert lists(session) == as_the_api_shows_them(session)


def a_cited_link(session: Session) -> int:
    """A side-effect link of the seed with two or more citations."""
    return session.execute(
        text(
            "SELECT subject_id FROM citation WHERE subject_type = 'procedure_side_effect' "
            "GROUP BY subject_id HAVING count(*) >= 2 ORDER BY subject_id LIMIT 1"
        )
    ).scalar_one()


def test_every_cited_subject_of_the_seed_has_its_list(session: Session) -> None:
    made = lists(session)
    assert len(made) > 100  # every kind of subject: links, experts, steps, needle lengths, ...
    assert {kind for kind, _ in made} >= {"procedure_side_effect", "expert", "step", "procedure"}
    assert made == as_the_api_shows_them(session)


def test_a_list_follows_inserts_updates_and_deletes_of_its_citations(session: Session) -> None:
    link = a_cited_link(session)
    source_id = session.execute(select(col(Source.id)).order_by(col(Source.id))).scalars().first()
    assert source_id is not None
    added = Citation(
        subject_type="procedure_side_effect",
        subject_id=link,
        source_id=source_id,
        excerpt=AWKWARD,
        about=None,
        position=0,  # ties with the first one: the id orders them
    )
    session.add(added)
    assert_in_step(session)
    assert AWKWARD in orjson.loads(lists(session)[("procedure_side_effect", link)])[1]["excerpt"]

    added.excerpt, added.about, added.position = "Moved to the end, " + AWKWARD, "dose", 99
    session.add(added)
    assert_in_step(session)
    last = orjson.loads(lists(session)[("procedure_side_effect", link)])[-1]
    assert last["about"] == "dose" and last["excerpt"].startswith("Moved to the end")

    added.subject_id = link + 1_000_000  # moved to another subject: both lists change
    session.add(added)
    assert_in_step(session)
    assert ("procedure_side_effect", link + 1_000_000) in lists(session)

    session.delete(added)
    session.execute(
        text(
            "DELETE FROM citation WHERE subject_type = 'procedure_side_effect' AND subject_id = :s"
        ),
        {"s": link},
    )
    assert_in_step(session)
    assert ("procedure_side_effect", link) not in lists(session)  # nothing cited, no list


def test_renaming_a_source_rewrites_every_list_that_cites_it(session: Session) -> None:
    source = (
        session.execute(select(Source).where(col(Source.id).in_(select(col(Citation.source_id)))))
        .scalars()
        .first()
    )
    assert source is not None
    citing = {
        (kind, subject)
        for kind, subject in session.execute(
            select(col(Citation.subject_type), col(Citation.subject_id)).where(
                col(Citation.source_id) == source.id
            )
        )
    }
    source.slug = "renamed-source"
    session.add(source)
    assert_in_step(session)
    made = lists(session)
    assert all('"source":"renamed-source"' in made[key] for key in citing)
