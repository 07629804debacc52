"""The audit of the seed data (issue 15, seed_data/CORRECTIONS.md): each corrected fact, as served.

W1-W7 were wrong and are fixed; M1-M20 were missing and are present with their citations (M14,
the procedure alias "skin needling", comes with its own migration and is not checked here).
"""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seed_data.loader import SEED_DIR

S000 = "scalp-serums-and-at-home-microneedling"
S001 = "microneedling-might-be-the-secret-to-preventing-hair-loss"
S002 = "microneedling-for-hair-loss-in-office-and-at-home"
S003 = "microneedling-of-the-scalp"
S004 = "micro-needling-for-hair-loss-and-at-home-dermapens"
PEN = "in-office-microneedling-pen"
DOCTORS_ROLLER = "in-office-derma-roller"
GENERAL = "scalp-microneedling"

ROLLER_SENTENCES = (
    "Microneedling will need the doctor to use several needles, ranging between 0.25-3 millimeters"
    " long. All of them are contained in a handheld device that is rolled across the area, which"
    " needs to be treated, causing minor injuries."
)
ANESTHETIC_004 = (
    "The doctor applies an anesthetic to your scalp 45 minutes before they start the treatment"
    " to minimize pain."
)
POOR_HEALTH_004 = (
    "The chances of being highly infected could be if you are in poor health or you if you have"
    " been prone to infections."
)
SELF_TREATMENT_004 = (
    "It is difficult to assess risks and treat infections of your own. Hence it is better to"
    " consult a practitioner."
)
STUDY_001 = (
    "Studies support this. One in particular found that patients who used microneedling in"
    " conjunction with traditional hair loss therapies showed a greater improvement in hair"
    " re-growth after only 12 weeks."
)


def citations_in(document: Any) -> list[tuple[str, str]]:
    """Every (source, excerpt) cited anywhere in a served document, its steps and links included."""
    if isinstance(document, list):
        return [c for item in document for c in citations_in(item)]
    if not isinstance(document, dict):
        return []
    if set(document) >= {"source", "excerpt"} and isinstance(document["excerpt"], str):
        return [(document["source"], document["excerpt"])]
    return [c for value in document.values() for c in citations_in(value)]


def links(client: TestClient, url: str, procedure: str) -> list[dict[str, Any]]:
    return [link for link in client.get(url).json()["procedures"] if link["procedure"] == procedure]


def related(client: TestClient, procedure: str, relation: str) -> set[str]:
    return {i["slug"] for i in client.get(f"/v1/procedures/{procedure}/{relation}").json()["items"]}


class TestWrongFactsAreFixed:
    def test_w1_the_pen_has_only_its_own_needle_length_and_duration(
        self, client: TestClient
    ) -> None:
        pen = client.get(f"/v1/procedures/{PEN}").json()
        assert [(n["min_mm"], n["max_mm"]) for n in pen["needle_lengths"]] == [(0.5, 1.5)]
        assert pen["session_duration"] == "15-20 minutes of gliding the device over the scalp"
        assert [c for c in citations_in(pen) if c[0] == S004] == []

    def test_w1_the_doctors_roller_has_004s_needle_length_duration_and_steps(
        self, client: TestClient
    ) -> None:
        roller = client.get(f"/v1/procedures/{DOCTORS_ROLLER}").json()
        assert (roller["parent"], roller["kind"], roller["setting"]) == (
            GENERAL,
            "variant",
            "in-office",
        )
        assert "rolls across the area" in roller["device"]
        [length] = roller["needle_lengths"]
        assert (length["min_mm"], length["max_mm"]) == (0.25, 3.0)
        assert citations_in(length) == [(S004, ROLLER_SENTENCES)]
        assert "30 minutes" in roller["session_duration"]
        assert (S004, ANESTHETIC_004) in citations_in(roller["steps"])
        assert [s["kind"] for s in roller["steps"]] == ["preparation", "aftercare"]

    def test_w1_004s_anesthetic_balm_pain_and_inflammation_links_follow_the_roller(
        self, client: TestClient
    ) -> None:
        for url in (
            "/v1/ingredients/topical-anesthetic-cream",
            "/v1/ingredients/post-treatment-balm-or-serum",
            "/v1/side-effects/pain-and-discomfort",
            "/v1/side-effects/inflammation",
        ):
            assert [c for c in citations_in(links(client, url, PEN)) if c[0] == S004] == [], url
            assert any(c[0] == S004 for c in citations_in(links(client, url, DOCTORS_ROLLER))), url
        anesthetic = links(client, "/v1/ingredients/topical-anesthetic-cream", PEN)
        assert [c[0] for c in citations_in(anesthetic)] == [S002]

    def test_w2_poor_health_is_a_risk_of_infection_not_a_contraindication(
        self, client: TestClient
    ) -> None:
        assert (
            client.get("/v1/contraindications/poor-health-or-prone-to-infections").status_code
            == 404
        )
        every_contraindication = client.get("/v1/contraindications?limit=100").json()["items"]
        for item in every_contraindication:
            cited = citations_in(client.get(f"/v1/contraindications/{item['slug']}").json())
            assert (S004, SELF_TREATMENT_004) not in cited, item["slug"]
        infection = links(client, "/v1/side-effects/infection", GENERAL)
        assert (S004, POOR_HEALTH_004) in citations_in(infection)
        dermapen = client.get("/v1/procedures/at-home-dermapen").json()
        assert (S004, SELF_TREATMENT_004) in citations_in(dermapen)

    def test_w3_collagen_boosting_actives_go_with_in_office_procedures_only(
        self, client: TestClient
    ) -> None:
        actives = client.get("/v1/ingredients/collagen-boosting-actives").json()
        assert {link["procedure"] for link in actives["procedures"]} == {PEN, DOCTORS_ROLLER}
        for procedure in (
            GENERAL,
            "at-home-derma-roller",
            "at-home-dermapen",
            "microneedling-before-scalp-serum",
        ):
            assert "collagen-boosting-actives" not in related(client, procedure, "ingredients")
        assert "collagen-boosting-actives" in related(client, PEN, "ingredients")

    @pytest.mark.parametrize(
        "condition", ["scars", "skin-texture", "dark-spots", "fine-lines", "signs-of-aging"]
    )
    def test_w4_face_and_skin_uses_are_not_conditions_scalp_microneedling_treats(
        self, client: TestClient, condition: str
    ) -> None:
        assert client.get(f"/v1/conditions/{condition}").status_code == 404
        for procedure in client.get("/v1/procedures?limit=100").json()["items"]:
            assert condition not in related(client, procedure["slug"], "conditions")

    def test_w5_no_quote_is_a_single_word(self, client: TestClient) -> None:
        assert client.get("/v1/quotes/jay-monthly-upkeep").status_code == 404
        quotes = client.get("/v1/quotes?limit=100").json()["items"]
        assert quotes and all(len(q["text"].split()) > 1 for q in quotes)
        roller = client.get("/v1/procedures/at-home-derma-roller").json()
        upkeep = 'After that, Jay says you only need to microneedle once a month for "upkeep."'
        assert (S001, upkeep) in citations_in(roller) and "upkeep" in roller["frequency"]

    def test_w6_parikh_is_a_board_certified_facial_plastic_surgeon(
        self, client: TestClient
    ) -> None:
        parikh = client.get("/v1/experts/sachin-parikh").json()
        assert parikh["role"] == "board-certified facial plastic surgeon"

    def test_w7_004s_history_of_eczema_makes_only_eczema_consult(self, client: TestClient) -> None:
        assert client.get("/v1/contraindications/eczema-or-psoriasis").status_code == 404
        eczema = client.get("/v1/contraindications/eczema").json()["procedures"]
        assert {link["level"] for link in eczema} == {"avoid", "consult"}
        assert (S004, "You have a history of eczema or acne") in citations_in(eczema)
        assert (S002, "Have eczema or psoriasis") in citations_in(eczema)
        psoriasis = client.get("/v1/contraindications/psoriasis").json()["procedures"]
        assert {link["level"] for link in psoriasis} == {"avoid"}
        assert {source for source, _ in citations_in(psoriasis)} == {S002}


MISSING = [
    (
        "M1",
        "/v1/procedures/at-home-derma-roller",
        S001,
        'In this case, each "injury" is minuscule, nowhere near large enough to cause pain,'
        " bleeding, or scarring.",
    ),
    (
        "M2",
        "/v1/procedures/scalp-microneedling",
        S001,
        "As Dr. Joshua Zeichner tells the publication, collagen and hair follicles exist in the"
        " same strata of the skin. When collagen production drops off, it leaves hair follicles"
        " susceptible to weakening.",
    ),
    ("M3", "/v1/procedures/microneedling-with-minoxidil", S001, STUDY_001),
    ("M3", "/v1/procedures/microneedling-with-prp", S001, STUDY_001),
    (
        "M4",
        f"/v1/procedures/{PEN}",
        S002,
        "Microneedling is a treatment that uses thin, vibrating needles to puncture your skin.",
    ),
    (
        "M5",
        "/v1/procedures/scalp-microneedling",
        S002,
        "Collagen may help improve the health and structure of your hair follicles, potentially"
        " leading to thicker hair and less breakage.",
    ),
    *[
        (
            "M6",
            url,
            S002,
            "Most research on microneedling for hair loss includes trials that combine"
            " microneedling with topical treatments.",
        )
        for url in (
            "/v1/procedures/microneedling-with-minoxidil",
            "/v1/procedures/microneedling-with-prp",
            "/v1/procedures/scalp-microneedling/conditions",
        )
    ],
    (
        "M7",
        f"/v1/procedures/{PEN}",
        S002,
        "There are no standardized procedures or protocols for microneedling treatments for hair"
        " loss.",
    ),
    (
        "M8",
        "/v1/procedures/scalp-microneedling/conditions",
        S003,
        "There have been studies done on microneedling for hair loss and it has been proven to be"
        " effective.",
    ),
    (
        "M9",
        "/v1/procedures/scalp-microneedling/side-effects",
        S003,
        "This doesn’t cause damage the scalp",
    ),
    (
        "M10",
        "/v1/procedures/scalp-microneedling",
        S003,
        "The microneedling causes microscopic injury to provide an inflammatory response to help"
        " stimulate hair growth. The healing process stimulated by injury from the needles result"
        " in proteins to help with new hair follicles.",
    ),
    (
        "M11",
        "/v1/procedures/scalp-microneedling",
        S003,
        "Recent studies show that not only does microneedling help with absorption of products"
        " but this sort of therapy helps stimulate the scalp and hair growth as well.",
    ),
    (
        "M12",
        "/v1/procedures/scalp-microneedling",
        S003,
        "Microneedling helps penetrate the stratum corneum causing topical products to work better",
    ),
    (
        "M13",
        "/v1/procedures/scalp-microneedling",
        S003,
        "The holes created close back up in a few hours.",
    ),
    (
        "M13",
        "/v1/procedures/scalp-microneedling/side-effects",
        S003,
        "The holes created close back up in a few hours.",
    ),
    (
        "M15",
        f"/v1/procedures/{DOCTORS_ROLLER}",
        S004,
        "It requires a roller that has small needles and causes minor injuries.",
    ),
    (
        "M16",
        "/v1/procedures/scalp-microneedling",
        S004,
        "micro-needling is also benefits for inducing stem cells",
    ),
    (
        "M17",
        f"/v1/procedures/{DOCTORS_ROLLER}",
        S004,
        "It’s very different from other treatments in the sense that the needles dig deep into"
        " the layers of the skin.",
    ),
    (
        "M18",
        "/v1/procedures/scalp-microneedling",
        S004,
        "When these injuries heal, the skin produces more fiber and collagen.",
    ),
    (
        "M19",
        "/v1/procedures/scalp-microneedling/side-effects",
        S004,
        "According to the American Academy of Dermatology, you may recover from the wounds in a"
        " few days.",
    ),
    (
        "M20",
        "/v1/procedures/at-home-dermapen",
        S004,
        "A good practitioner will guide you through how you can reduce the side effects of the"
        " treatment.",
    ),
]


class TestMissingFactsArePresent:
    @pytest.mark.parametrize(
        ("item", "url", "source", "excerpt"), MISSING, ids=[f"{m[0]}-{m[1]}" for m in MISSING]
    )
    def test_cited(
        self, client: TestClient, item: str, url: str, source: str, excerpt: str
    ) -> None:
        assert (source, excerpt) in citations_in(client.get(url).json()), item

    def test_m3_the_combinations_say_a_study_backs_them(self, client: TestClient) -> None:
        for combination in ("microneedling-with-minoxidil", "microneedling-with-prp"):
            summary = client.get(f"/v1/procedures/{combination}").json()["summary"]
            assert "study" in summary and "12 weeks" in summary, combination

    def test_m10_m16_new_benefits(self, client: TestClient) -> None:
        steps = client.get("/v1/procedures/scalp-microneedling").json()["steps"]
        benefits = [s["text"] for s in steps if s["kind"] == "benefit"]
        assert any(b.startswith("Provokes an inflammatory response") for b in benefits)
        assert any(b.startswith("Induces stem cells") for b in benefits)


class TestPositionsPlaceTheRoller:
    def test_004s_roller_positions_name_the_doctors_roller(self) -> None:
        """The topics data (not loaded yet) places 004's roller facts on the new procedure."""
        positions = json.loads((SEED_DIR / "positions.json").read_text(encoding="utf-8"))
        topics = {
            t["slug"]: t for t in json.loads((SEED_DIR / "topics.json").read_text(encoding="utf-8"))
        }
        roller = [
            p
            for p in positions
            if p["slug"].endswith("-004-in-office-roller")
            or p["slug"] == "penetration-depth-004-deep"
        ]
        assert len(roller) == 5
        for p in roller:
            assert p["procedure"] == DOCTORS_ROLLER, p["slug"]
            assert DOCTORS_ROLLER in topics[p["topic"]]["procedures"], p["topic"]
