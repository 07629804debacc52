# ruff: noqa: E501
"""Check seed_data/topics.json and seed_data/positions.json, and print each topic's agreement.

Run from the repository root:  python seed_data/check_topics.py
Exits 1 (after listing every problem) when a rule is broken.

Agreement is derived the way the service will derive it, and only where the rules decide:
- numeric topics: ranges of one procedure that do not overlap -> conflict; ranges that all
  overlap -> agree; otherwise -> differ. Positions without a value are left out; a position
  without a procedure cannot be placed, so when it is needed to decide, the rules do not decide.
- text topics with an `answer` on every position: one procedure with different answers ->
  conflict; the same answer everywhere -> agree.
Anything else is the editor's: `agreement` and `agreement_note` must then be set on the topic
(and must stay null where the rules decide).
"""

import json
import re
import sys
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from api.kb.citations import is_verbatim  # noqa: E402

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ANSWER_TYPES = {"numeric", "text"}
AGREEMENTS = {"agree", "differ", "conflict"}
EVIDENCE = {"study", "authority", "expert", "article"}
VOCABULARIES = {"contraindication": {"avoid", "consult"}, "yes-no": {"yes", "no", "depends"}}
TOPIC_KEYS = [
    "slug",
    "name",
    "question",
    "answer_type",
    "unit",
    "procedures",
    "agreement",
    "agreement_note",
]
POSITION_KEYS = [
    "slug",
    "topic",
    "source",
    "expert",
    "statement",
    "value",
    "answer",
    "procedure",
    "evidence",
    "commercial_interest",
    "citations",
]
# Words that show a position rests on a study, or names a body, in its statement and its citations.
STUDY_WORDS = re.compile(r"\b(stud(y|ies)|research|trials?)\b", re.I)
AUTHORITY_WORDS = re.compile(
    r"\b(Academy|Association|Society|Institute|Organi[sz]ation|College|Agency|Administration)\b"
)

problems: list[str] = []


def problem(where: str, message: str) -> None:
    problems.append(f"{where}: {message}")


def load(name: str) -> list:
    data = json.loads((HERE / name).read_text(encoding="utf-8"))
    text = (HERE / name).read_text(encoding="utf-8")
    if text != json.dumps(data, indent=2, ensure_ascii=False) + "\n":
        problem(
            name, "not in the seed format (2-space indent, ensure_ascii false, trailing newline)"
        )
    if not isinstance(data, list):
        problem(name, "not a JSON array")
        return []
    return data


def is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def nonempty_str(x) -> bool:
    return isinstance(x, str) and x.strip() != ""


def check_citations(where: str, citations, texts: dict[str, str], own_source: str | None) -> None:
    if not isinstance(citations, list) or not citations:
        problem(where, "needs at least one citation")
        return
    for i, c in enumerate(citations):
        at = f"{where} citation {i}"
        if not isinstance(c, dict) or set(c) != {"source", "excerpt"}:
            problem(at, "must be {source, excerpt}")
            continue
        if c["source"] not in texts:
            problem(at, f"unknown source {c['source']!r}")
            continue
        if own_source is not None and c["source"] != own_source:
            problem(at, f"quotes {c['source']}, not the position's own source {own_source}")
        excerpt = c["excerpt"]
        if not isinstance(excerpt, str) or not 3 <= len(excerpt) <= 5000:
            problem(at, "excerpt must be a string of 3..5000 characters")
        elif not is_verbatim(excerpt, texts[c["source"]]):
            problem(at, f"not verbatim in {c['source']}: {excerpt[:80]!r}")


def overlap(a: dict, b: dict) -> bool:
    return a["min"] <= b["max"] and b["min"] <= a["max"]


def derive(topic: dict, positions: list[dict]) -> str | None:
    """The agreement the rules decide, or None when they do not."""
    if topic["answer_type"] == "numeric":
        valued = [p for p in positions if p["value"] is not None]
        if len({p["source"] for p in valued}) < 2:
            return None
        by_procedure = defaultdict(list)
        for p in valued:
            if p["procedure"] is not None:
                by_procedure[p["procedure"]].append(p)
        for group in by_procedure.values():
            for a, b in combinations(group, 2):
                if a["source"] != b["source"] and not overlap(a["value"], b["value"]):
                    return "conflict"
        if all(overlap(a["value"], b["value"]) for a, b in combinations(valued, 2)):
            return "agree"
        if any(p["procedure"] is None for p in valued):
            return None  # an unplaced range might be the same procedure as one it misses
        return "differ"
    if not positions or any(p["answer"] is None for p in positions):
        return None
    answers_of: dict[str, set[str]] = defaultdict(set)
    for p in positions:
        if p["procedure"] is not None:
            answers_of[p["procedure"]].add(p["answer"])
    if any(len(answers) > 1 for answers in answers_of.values()):
        return "conflict"
    if len({p["answer"] for p in positions}) == 1:
        return "agree"
    return None


def main() -> int:
    sources = json.loads((HERE / "sources.json").read_text(encoding="utf-8"))
    texts = {s["slug"]: s["text"] for s in sources}
    procedures = {
        p["slug"] for p in json.loads((HERE / "procedures.json").read_text(encoding="utf-8"))
    }
    experts = {
        e["slug"]: e for e in json.loads((HERE / "experts.json").read_text(encoding="utf-8"))
    }

    topics = load("topics.json")
    positions = load("positions.json")

    # ---- topics
    topic_by_slug: dict[str, dict] = {}
    for i, t in enumerate(topics):
        where = f"topic {t.get('slug', i)!r}"
        if not isinstance(t, dict) or list(t) != TOPIC_KEYS:
            problem(where, f"keys must be exactly {TOPIC_KEYS} in that order")
            continue
        if not isinstance(t["slug"], str) or not SLUG.match(t["slug"]):
            problem(where, "slug is not kebab-case")
        if t["slug"] in topic_by_slug:
            problem(where, "duplicate slug")
        topic_by_slug[t["slug"]] = t
        for key in ("name", "question"):
            if not nonempty_str(t[key]):
                problem(where, f"{key} must be a non-empty string")
        if nonempty_str(t["question"]) and not t["question"].endswith("?"):
            problem(where, "question should end with '?'")
        if t["answer_type"] not in ANSWER_TYPES:
            problem(where, f"answer_type must be one of {sorted(ANSWER_TYPES)}")
        if t["answer_type"] == "numeric" and not nonempty_str(t["unit"]):
            problem(where, "a numeric topic needs a unit")
        if t["answer_type"] == "text" and t["unit"] is not None:
            problem(where, "a text topic has no unit")
        if not isinstance(t["procedures"], list) or not t["procedures"]:
            problem(where, "procedures must be a non-empty list")
        else:
            for proc in t["procedures"]:
                if proc not in procedures:
                    problem(where, f"unknown procedure {proc!r}")
            if len(set(t["procedures"])) != len(t["procedures"]):
                problem(where, "procedures listed twice")
        if t["agreement"] is not None and t["agreement"] not in AGREEMENTS:
            problem(where, f"agreement must be null or one of {sorted(AGREEMENTS)}")
        if (t["agreement"] is None) != (t["agreement_note"] is None):
            problem(where, "agreement and agreement_note go together (both set or both null)")
        if t["agreement_note"] is not None and not nonempty_str(t["agreement_note"]):
            problem(where, "agreement_note must be a non-empty sentence")

    # ---- positions
    seen: set[str] = set()
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for i, p in enumerate(positions):
        where = f"position {p.get('slug', i)!r}"
        if not isinstance(p, dict) or list(p) != POSITION_KEYS:
            problem(where, f"keys must be exactly {POSITION_KEYS} in that order")
            continue
        if not isinstance(p["slug"], str) or not SLUG.match(p["slug"]):
            problem(where, "slug is not kebab-case")
        if p["slug"] in seen:
            problem(where, "duplicate slug")
        seen.add(p["slug"])
        topic = topic_by_slug.get(p["topic"])
        if topic is None:
            problem(where, f"unknown topic {p['topic']!r}")
            continue
        by_topic[p["topic"]].append(p)
        if p["source"] not in texts:
            problem(where, f"unknown source {p['source']!r}")
            continue
        if not nonempty_str(p["statement"]):
            problem(where, "statement must be a non-empty sentence")

        # expert and evidence
        if p["evidence"] not in EVIDENCE:
            problem(where, f"evidence must be one of {sorted(EVIDENCE)}")
        if p["expert"] is not None:
            expert = experts.get(p["expert"])
            if expert is None:
                problem(where, f"unknown expert {p['expert']!r}")
            else:
                surname = expert["name"].split()[-1]
                if surname not in texts[p["source"]]:
                    problem(where, f"expert {expert['name']} does not appear in {p['source']}")
                if surname not in p["statement"]:
                    problem(where, f"statement should name the expert ({expert['name']})")
            if p["evidence"] != "expert":
                problem(where, "a named expert's position has evidence 'expert'")
        elif p["evidence"] == "expert":
            problem(where, "evidence 'expert' needs the expert's slug")
        excerpts = " ".join(c.get("excerpt", "") for c in p["citations"] if isinstance(c, dict))
        if p["evidence"] == "study" and not (
            STUDY_WORDS.search(p["statement"]) and STUDY_WORDS.search(excerpts)
        ):
            problem(
                where, "a position resting on a study must say so, in its statement and a citation"
            )
        if p["evidence"] == "authority":
            named = AUTHORITY_WORDS.search(excerpts)
            if not named or named.group(0) not in p["statement"]:
                problem(
                    where,
                    "a position resting on an authority must name it, in its statement and a citation",
                )

        # procedure
        if p["procedure"] is not None:
            if p["procedure"] not in procedures:
                problem(where, f"unknown procedure {p['procedure']!r}")
            elif (
                isinstance(topic["procedures"], list) and p["procedure"] not in topic["procedures"]
            ):
                problem(where, f"procedure {p['procedure']!r} is not among the topic's procedures")

        # value and answer
        if topic["answer_type"] == "numeric":
            if p["answer"] is not None:
                problem(where, "a numeric topic's position has no categorical answer")
            v = p["value"]
            if v is not None:
                if not isinstance(v, dict) or set(v) != {"min", "max", "unit"}:
                    problem(where, "value must be {min, max, unit}")
                elif not (is_number(v["min"]) and is_number(v["max"])):
                    problem(where, "value min and max must be numbers")
                elif v["min"] > v["max"]:
                    problem(where, "value min > max")
                elif v["unit"] != topic["unit"]:
                    problem(
                        where, f"value unit {v['unit']!r} is not the topic's unit {topic['unit']!r}"
                    )
        else:
            if p["value"] is not None:
                problem(where, "a text topic's position has no value")
            if p["answer"] is not None and not any(p["answer"] in v for v in VOCABULARIES.values()):
                problem(where, f"answer {p['answer']!r} is outside the vocabularies {VOCABULARIES}")

        # citations and commercial interest
        check_citations(where, p["citations"], texts, p["source"])
        ci = p["commercial_interest"]
        if ci is not None:
            if not isinstance(ci, dict) or set(ci) != {"statement", "citations"}:
                problem(where, "commercial_interest must be {statement, citations}")
            else:
                if not nonempty_str(ci["statement"]):
                    problem(where, "commercial_interest needs a statement")
                check_citations(where + " commercial_interest", ci["citations"], texts, None)

    # ---- per topic: answers from one vocabulary, enough sources, agreement
    derived_by_topic: dict[str, str | None] = {}
    for slug, t in topic_by_slug.items():
        where = f"topic {slug!r}"
        ps = by_topic.get(slug, [])
        if len({p["source"] for p in ps}) < 2:
            problem(where, "needs positions from at least two sources")
        answers = {p["answer"] for p in ps if p["answer"] is not None}
        if answers and not any(answers <= v for v in VOCABULARIES.values()):
            problem(where, f"answers {sorted(answers)} mix vocabularies")
        derived = derive(t, ps)
        derived_by_topic[slug] = derived
        if derived is not None and t["agreement"] is not None:
            problem(
                where,
                f"the rules decide {derived!r}: agreement must stay null (it is {t['agreement']!r})",
            )
        if derived is None and t["agreement"] is None:
            problem(
                where, "the rules do not decide the agreement: set agreement and agreement_note"
            )

    # ---- report
    print(f"{'topic':<24} {'agreement':<9} {'how':<8} positions  sources")
    for slug, t in topic_by_slug.items():
        ps = by_topic.get(slug, [])
        derived = derived_by_topic[slug]
        shown = derived or t["agreement"] or "?"
        how = "derived" if derived else "editor"
        srcs = ",".join(
            sorted({f"{list(texts).index(p['source']):03d}" for p in ps if p["source"] in texts})
        )
        print(f"{slug:<24} {shown:<9} {how:<8} {len(ps):>9}  {srcs}")
    agreements = Counter((derived_by_topic[s] or t["agreement"]) for s, t in topic_by_slug.items())
    disputed = sum(n for a, n in agreements.items() if a != "agree")
    print()
    print(f"topics: {len(topic_by_slug)}")
    print(
        f"disputed (agreement other than agree): {disputed}  "
        f"({', '.join(f'{a}: {n}' for a, n in sorted(agreements.items(), key=lambda x: str(x[0])))})"
    )
    print(f"positions: {len(positions)}")
    evidence = Counter(p.get("evidence") for p in positions if isinstance(p, dict))
    print(
        "positions by evidence: "
        + ", ".join(f"{k}: {evidence.get(k, 0)}" for k in sorted(EVIDENCE))
    )
    print(
        f"positions with a commercial interest: {sum(1 for p in positions if isinstance(p, dict) and p.get('commercial_interest'))}"
    )

    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for line in problems:
            print("  " + line, file=sys.stderr)
        return 1
    print("\nOK: every rule holds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
