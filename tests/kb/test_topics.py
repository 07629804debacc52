"""Topics and positions: every position quotes its own source verbatim; agreement as derived."""

from collections import defaultdict

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from api.kb.agreement import Stance, agreement, derived
from api.kb.citations import is_verbatim
from models import Source
from seed_data.loader import read_seed_files

DATA = read_seed_files()
TOPICS = {t["slug"]: t for t in DATA["topics"]}
POSITIONS = DATA["positions"]
# The agreement of every topic, as the five articles give it (derived, or the editor's).
EXPECTED = {
    "needle-length": "differ",
    "session-duration": "differ",
    "anesthetic-timing": "agree",
    "sun-avoidance": "differ",
    "aftercare-avoid": "differ",
    "recovery-time": "differ",
    "device-cleaning": "agree",
    "at-home-effectiveness": "conflict",
    "at-home-safety": "conflict",
    "pen-at-home": "conflict",
    "scarring-or-damage": "conflict",
    "pain": "differ",
    "bleeding": "differ",
    "infection-risk": "agree",
    "effectiveness": "differ",
    "combined-treatments": "agree",
    "absorption": "agree",
    "mechanism": "agree",
    "penetration-depth": "conflict",
    "treatment-frequency": "differ",
    "pressure": "agree",
    "scalp-condition": "conflict",
    "eczema": "conflict",
    "acne": "conflict",
    "blood-thinners": "conflict",
    "pregnancy": "agree",
}


def stance(position: dict) -> Stance:
    value = position["value"] or {}
    return Stance(
        position["source"],
        position["procedure"],
        value.get("min"),
        value.get("max"),
        position["answer"],
    )


def stances_of(topic: str) -> list[Stance]:
    return [stance(p) for p in POSITIONS if p["topic"] == topic]


@pytest.fixture(scope="module")
def articles(engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The articles as the sources table holds them."""
    with Session(engine) as session:
        return dict(session.execute(select(col(Source.slug), col(Source.text))).all())


class TestSeedPositions:
    def test_every_citation_is_verbatim_in_the_positions_own_source(
        self, articles: dict[str, str]
    ) -> None:
        assert len(POSITIONS) == 95
        for p in POSITIONS:
            cited = list(p["citations"])
            if p["commercial_interest"]:
                cited += p["commercial_interest"]["citations"]
            assert cited, p["slug"]
            for c in cited:
                assert c["source"] == p["source"], (p["slug"], c["source"])
                assert is_verbatim(c["excerpt"], articles[p["source"]]), (p["slug"], c["excerpt"])

    def test_an_experts_position_rests_on_the_expert(self) -> None:
        for p in POSITIONS:
            assert (p["expert"] is not None) == (p["evidence"] == "expert"), p["slug"]

    def test_values_are_in_the_topics_unit_and_answers_fit_the_answer_type(self) -> None:
        for p in POSITIONS:
            topic = TOPICS[p["topic"]]
            if topic["answer_type"] == "numeric":
                assert p["answer"] is None
                assert p["value"] is None or p["value"]["unit"] == topic["unit"], p["slug"]
            else:
                assert p["value"] is None, p["slug"]
            assert p["procedure"] is None or p["procedure"] in topic["procedures"], p["slug"]

    def test_every_topic_has_positions_from_two_sources(self) -> None:
        sources = defaultdict(set)
        for p in POSITIONS:
            sources[p["topic"]].add(p["source"])
        assert all(len(sources[slug]) >= 2 for slug in TOPICS)


class TestSeedAgreement:
    @pytest.mark.parametrize("slug", sorted(EXPECTED))
    def test_derived_where_the_data_decides_else_the_editors(self, slug: str) -> None:
        topic = TOPICS[slug]
        found = derived(topic["answer_type"], stances_of(slug))
        # The editor sets the agreement (with a note) exactly where the rules do not decide.
        assert (found is None) == (topic["agreement"] is not None)
        assert (topic["agreement"] is None) == (topic["agreement_note"] is None)
        assert (
            agreement(topic["answer_type"], topic["agreement"], stances_of(slug))[0]
            == (EXPECTED[slug])
        )

    def test_eighteen_of_twenty_six_topics_are_disputed(self) -> None:
        assert len(TOPICS) == 26
        assert sum(a != "agree" for a in EXPECTED.values()) == 18


class TestDerivation:
    def test_ranges_for_one_procedure_that_miss_each_other_conflict(self) -> None:
        stances = [Stance("a", "roller", 0.1, 0.2), Stance("b", "roller", 0.5, 1.0)]
        assert derived("numeric", stances) == "conflict"

    def test_ranges_that_all_overlap_agree(self) -> None:
        stances = [Stance("a", "roller", 0.1, 0.5), Stance("b", None, 0.4, 1.0)]
        assert derived("numeric", stances) == "agree"

    def test_ranges_of_different_procedures_differ(self) -> None:
        stances = [Stance("a", "roller", 0.1, 0.2), Stance("b", "pen", 0.5, 1.0)]
        assert derived("numeric", stances) == "differ"

    def test_an_unplaced_range_that_misses_leaves_it_to_the_editor(self) -> None:
        stances = [Stance("a", "roller", 0.1, 0.2), Stance("b", None, 0.5, 1.0)]
        assert derived("numeric", stances) is None
        assert agreement("numeric", "differ", stances) == ("differ", False)

    def test_one_source_decides_nothing(self) -> None:
        stances = [Stance("a", "roller", 0.1, 0.2), Stance("a", "roller", 0.5, 1.0)]
        assert derived("numeric", stances) is None

    def test_different_answers_for_one_procedure_conflict(self) -> None:
        stances = [Stance("a", "pen", answer="avoid"), Stance("b", "pen", answer="consult")]
        assert derived("text", stances) == "conflict"

    def test_one_answer_everywhere_agrees(self) -> None:
        stances = [Stance("a", "pen", answer="yes"), Stance("b", None, answer="yes")]
        assert agreement("text", None, stances) == ("agree", True)

    def test_a_position_without_an_answer_leaves_it_to_the_editor(self) -> None:
        stances = [Stance("a", "pen", answer="yes"), Stance("b", "pen")]
        assert derived("text", stances) is None
