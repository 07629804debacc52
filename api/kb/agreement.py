"""Whether the sources agree on a topic, derived from their positions where the data decides.

- numeric topics: ranges given for one procedure by different sources that do not overlap ->
  conflict; ranges that all overlap -> agree; otherwise -> differ. A range without a procedure
  cannot be placed: when it would decide, the data does not.
- text topics with a categorical answer on every position: one procedure with different answers
  -> conflict; one answer everywhere -> agree.
Anything else is the editor's to say (`agreement` with an `agreement_note` on the topic).
"""

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class Stance:
    """What the derivation reads of a position."""

    source: str
    procedure: str | None = None
    low: float | None = None  # the value's range, for numeric topics
    high: float | None = None
    answer: str | None = None  # the categorical answer, for text topics


def _overlap(a: Stance, b: Stance) -> bool:
    return a.low <= b.high and b.low <= a.high  # type: ignore[operator]  # valued stances only


def _numeric(stances: list[Stance]) -> str | None:
    valued = [s for s in stances if s.low is not None and s.high is not None]
    if len({s.source for s in valued}) < 2:
        return None
    by_procedure: dict[str, list[Stance]] = defaultdict(list)
    for s in valued:
        if s.procedure is not None:
            by_procedure[s.procedure].append(s)
    for group in by_procedure.values():
        for a, b in combinations(group, 2):
            if a.source != b.source and not _overlap(a, b):
                return "conflict"
    if all(_overlap(a, b) for a, b in combinations(valued, 2)):
        return "agree"
    if any(s.procedure is None for s in valued):
        return None  # an unplaced range might be the same procedure as the one it misses
    return "differ"


def _categorical(stances: list[Stance]) -> str | None:
    if not stances or any(s.answer is None for s in stances):
        return None
    by_procedure: dict[str, set[str | None]] = defaultdict(set)
    for s in stances:
        if s.procedure is not None:
            by_procedure[s.procedure].add(s.answer)
    if any(len(answers) > 1 for answers in by_procedure.values()):
        return "conflict"
    if len({s.answer for s in stances}) == 1:
        return "agree"
    return None


def derived(answer_type: str, stances: list[Stance]) -> str | None:
    """The agreement the positions decide, or None when they do not."""
    return _numeric(stances) if answer_type == "numeric" else _categorical(stances)


def agreement(
    answer_type: str, editors: str | None, stances: list[Stance]
) -> tuple[str | None, bool]:
    """(agreement, derived?): what the positions decide, else the editor's value (or None)."""
    found = derived(answer_type, stances)
    return (found, True) if found is not None else (editors, False)
