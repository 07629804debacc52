"""Three `skinkb serve` processes on one PostgreSQL and a streaming replica of it (made with
`bench.replica`): public reads come from the replica, an edit through one process shows through
all three within a second, with the same ETag in each (bench.scaleout)."""

from collections.abc import Iterator

import pytest

from bench import replica, scaleout
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"), reason="replicas are PostgreSQL's"
)


@pytest.fixture(scope="module")
def streaming_replica() -> Iterator[None]:
    """The replica on 127.0.0.1:5433; stopped afterwards unless it was running before."""
    was_running = replica.running()
    try:
        replica.start()
    except (replica.NoReplica, OSError) as reason:
        pytest.skip(f"no streaming replica can be made here: {reason}")
    yield
    if not was_running:
        replica.stop()


def test_edits_show_through_every_process_within_a_second(streaming_replica: None) -> None:
    summary = scaleout.measure(edits=20, processes=3, use_replica=True)
    assert summary["public_reads_unchanged_while_paused"], summary
    assert summary["admin_read_sees_the_edit"], summary
    assert summary["not_shown_within_10_s"] == 0, summary
    assert summary["edits_with_differing_etags"] == 0, summary
    assert summary["propagation_p99_ms"] <= 1000, summary
