"""Schemathesis over the whole OpenAPI (public and admin), every check, positive and negative
data, then the stateful phase; a fixed seed, and at least 1,000 generated cases in all."""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import Request
from hypothesis import HealthCheck, seed, settings
from schemathesis.config._checks import (
    NegativeDataRejectionConfig,
    PositiveDataAcceptanceConfig,
)
from schemathesis.generation import GenerationMode
from sqlalchemy import Engine
from sqlmodel import Session

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


def _prepare_database() -> tuple[str, Engine | None, Engine, str]:
    """A database of its own, committed for real (the fuzzer writes through the admin API).

    Made at import: schemathesis generates its first cases while collecting, and they need the key.
    """
    url, admin = _fresh_database(Path(tempfile.mkdtemp(prefix="skinkb-fuzz-")), "fuzz")
    migrations.upgrade(url)
    engine = make_engine(url)
    with Session(writer(engine)) as session:
        load_seed(session)
        key = create_key(session, "fuzzer", KeyRole.admin).key
        session.commit()
    return url, admin, engine, key


URL, PG_ADMIN, ENGINE, KEY = _prepare_database()


@schemathesis.auth()
class AdminKey:
    """Every generated request carries a valid admin key; `ignored_auth` checks going without."""

    def get(self, case, context):  # type: ignore[no-untyped-def]
        return KEY

    def set(self, case, data, context):  # type: ignore[no-untyped-def]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def fuzz_session(request: Request) -> Iterator[Session]:
    engine = ENGINE if request.method in READ_METHODS else writer(ENGINE)
    with Session(engine) as session:
        yield session


@pytest.fixture(scope="module", autouse=True)
def fuzz_database() -> Iterator[None]:
    app.dependency_overrides[get_session] = fuzz_session
    yield
    app.dependency_overrides.clear()
    ENGINE.dispose()
    _drop_schema(PG_ADMIN, URL)


@schema.parametrize()
@seed(SEED)
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_every_operation(case: schemathesis.Case) -> None:
    CASES.append(case.operation.label)
    case.call_and_validate()


StatefulBase = schema.as_state_machine()


class Stateful(StatefulBase):  # type: ignore[misc,valid-type]
    """Each sequence of calls starts from the seeded data: its writes are rolled back after it, so
    what one sequence does never changes what the next one can draw (Hypothesis replays them)."""

    def setup(self) -> None:
        self.connection = ENGINE.connect()
        self.outer = self.connection.begin()

        def sequence_session() -> Iterator[Session]:
            with Session(bind=self.connection, join_transaction_mode="create_savepoint") as session:
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
        return super().validate_response(response, case, additional_checks, **kwargs)


TestStateful = Stateful.TestCase
TestStateful.settings = settings(
    max_examples=40,
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)


def test_at_least_a_thousand_cases_ran() -> None:
    """Runs after the fuzzing above (pytest keeps file order)."""
    stateful = sum(c.startswith("stateful ") for c in CASES)
    print(
        f"\nschemathesis: {len(CASES)} cases, {stateful} of them stateful, "
        f"over {len({c for c in CASES if not c.startswith('stateful')})} operations"
    )
    assert len(CASES) >= 1000, len(CASES)
    assert stateful > 0
