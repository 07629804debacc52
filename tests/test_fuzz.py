"""Schemathesis over the whole OpenAPI (public and admin), every check, positive and negative
data, then the stateful phase; a fixed seed, and at least 1,000 generated cases in all.

Nothing here runs at import or collection: the database, its admin key and the schema are made by
module fixtures, and schemathesis builds each operation's test (its examples, coverage cases and
strategies) while `test_every_operation` runs. Collecting this file used to take 95-108 s, nearly
all of it `schema.parametrize()`'s collector generating the coverage cases of every operation.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import Request
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import load_all_checks
from schemathesis.config._checks import (
    MissingRequiredHeaderConfig,
    NegativeDataRejectionConfig,
    PositiveDataAcceptanceConfig,
)
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.generation.hypothesis.reporting import ignore_hypothesis_output
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import Engine
from sqlmodel import Session

# The project's own modules: all of them here, in one place.
from api.db import migrations
from api.db.engine import READ_METHODS, make_engine, writer
from api.deps import get_session
from api.kb.keys import create_key
from api.main import app
from models.api_key import KeyRole
from seed_data.loader import load_seed
from tests.conftest import _drop_schema, _fresh_database, forget_revisions

SEED = 20261122
EXAMPLES_PER_OPERATION = 25
CASES: list[str] = []
STATEFUL_SETTINGS = settings(
    max_examples=40,
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)


@dataclass
class FuzzDatabase:
    url: str
    admin: Engine | None
    engine: Engine
    key: str


@schemathesis.auth()
class AdminKey:
    """Every generated request carries a valid admin key; `ignored_auth` checks going without.
    The key is the one `fuzz_database` made (set on the class while the module's tests run)."""

    key: str | None = None

    def get(self, case, context):  # type: ignore[no-untyped-def]
        assert AdminKey.key is not None, "the fuzz_database fixture makes the key"
        return AdminKey.key

    def set(self, case, data, context):  # type: ignore[no-untyped-def]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def fuzz_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzDatabase]:
    """A database of its own, committed for real (the fuzzer writes through the admin API),
    seeded, with an admin key; every request of the app is served from it."""
    url, admin = _fresh_database(Path(tmp_path_factory.mktemp("fuzz")), "fuzz")
    migrations.upgrade(url)
    engine = make_engine(url)
    with Session(writer(engine)) as session:
        load_seed(session)
        key = create_key(session, "fuzzer", KeyRole.admin).key
        session.commit()

    def fuzz_session(request: Request) -> Iterator[Session]:
        with Session(engine if request.method in READ_METHODS else writer(engine)) as session:
            yield session

    app.dependency_overrides[get_session] = fuzz_session
    AdminKey.key = key
    yield FuzzDatabase(url, admin, engine, key)
    AdminKey.key = None
    app.dependency_overrides.clear()
    engine.dispose()
    _drop_schema(admin, url)


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_database: FuzzDatabase) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES_PER_OPERATION,
    )
    # A schema cannot say that an excerpt must occur in its source, that a slug must name something
    # that exists, or which version an entry is at: data valid by the schema may still be refused
    # with 422 (naming the field), 412/428 (If-Match). Every other check keeps its defaults.
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=["2xx", "3xx", "401", "403", "404", "409", "412", "422", "428", "429"]
    )
    # A body too long for the schema may be too large for the server too: 413 is a refusal as well.
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[
            "400",
            "401",
            "403",
            "404",
            "405",
            "406",
            "409",
            "413",
            "415",
            "422",
            "428",
            "429",
        ]
    )
    # A missing If-Match is answered 428 Precondition Required (RFC 6585), which says exactly what
    # is missing; the check's default list of refusals lacks it.
    schema.config.checks.missing_required_header = MissingRequiredHeaderConfig(
        expected_statuses=["400", "401", "403", "406", "415", "422", "428"]
    )
    return schema


def not_checked(case: schemathesis.Case) -> list[Any]:
    """The checks a case's answer is exempt from: `?fields=` leaves out fields the schema of the
    whole answer requires (as the parameter's description says), so a trimmed answer is not
    held to that schema."""
    return [response_schema_conformance] if (case.query or {}).get("fields") else []


@seed(SEED)
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def check_case(case: schemathesis.Case) -> None:
    CASES.append(case.operation.label)
    case.call_and_validate(excluded_checks=not_checked(case))


def test_every_operation(fuzz_schema: schemathesis.BaseSchema, subtests: pytest.Subtests) -> None:
    """Each operation is a subtest; its Hypothesis test (the schema's examples, the coverage cases,
    then positive and negative fuzzing) is built here, when the test runs, by the same function
    `schemathesis.pytest.from_fixture` uses (which itself fails on pytest 9.2: it sets
    `Function._nodeid`, gone from pytest's nodes)."""
    load_all_checks()
    schema = fuzz_schema.clone(test_function=check_case)
    tests = get_all_tests(schema=schema, test_func=check_case, settings=None, given_kwargs={})
    for result in tests:
        if not isinstance(result, Ok):
            raise result.err()
        operation, operation_test = result.ok()
        with subtests.test(operation.label), ignore_hypothesis_output():
            operation_test()


def test_stateful(fuzz_schema: schemathesis.BaseSchema, fuzz_database: FuzzDatabase) -> None:
    engine = fuzz_database.engine
    fuzz_session = app.dependency_overrides[get_session]

    class Stateful(fuzz_schema.as_state_machine()):  # type: ignore[misc]
        """Each sequence of calls starts from the seeded data: its writes are rolled back after
        it, so what one sequence does never changes what the next one can draw (Hypothesis
        replays them)."""

        def setup(self) -> None:
            self.connection = engine.connect()
            self.outer = self.connection.begin()

            def sequence_session() -> Iterator[Session]:
                with Session(
                    bind=self.connection, join_transaction_mode="create_savepoint"
                ) as session:
                    yield session

            app.dependency_overrides[get_session] = sequence_session
            forget_revisions()

        def teardown(self) -> None:
            self.outer.rollback()
            self.connection.close()
            app.dependency_overrides[get_session] = fuzz_session
            forget_revisions()

        def validate_response(self, response, case, additional_checks=(), **kwargs):  # type: ignore[no-untyped-def]
            CASES.append(f"stateful {case.operation.label}")
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=not_checked(case),
                transport_kwargs=kwargs,
            )

    Stateful.run(settings=STATEFUL_SETTINGS)


def test_at_least_a_thousand_cases_ran() -> None:
    """Runs after the fuzzing above (pytest keeps file order)."""
    stateful = sum(c.startswith("stateful ") for c in CASES)
    print(
        f"\nschemathesis: {len(CASES)} cases, {stateful} of them stateful, "
        f"over {len({c for c in CASES if not c.startswith('stateful')})} operations"
    )
    assert len(CASES) >= 1000, len(CASES)
    assert stateful > 0
