"""The request log: one JSON line per request, written without holding up the answer."""

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.http.log import (
    JsonFormatter,
    access_log,
    configure_logging,
    flush_logs,
    log_request,
)


class SlowStream(io.StringIO):
    """stdout read by a slow consumer: every write takes 50 ms."""

    def write(self, text: str) -> int:
        time.sleep(0.05)
        return super().write(text)


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers[:], root.level = handlers, level


class TestRequestLog:
    def test_logging_does_not_wait_for_the_stream(self, root_handlers: None) -> None:
        stream = SlowStream()
        configure_logging(stream)
        started = time.perf_counter()
        for n in range(40):
            access_log.info("request", extra={"fields": {"n": n}})
        assert time.perf_counter() - started < 0.5  # 40 writes of 50 ms would be 2 s
        flush_logs()
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [line["n"] for line in lines] == list(range(40))
        assert {line["msg"] for line in lines} == {"request"}

    def test_lines_are_written_within_a_fraction_of_a_second(self, root_handlers: None) -> None:
        stream = io.StringIO()
        configure_logging(stream)
        access_log.info("request", extra={"fields": {"path": "/v1/procedures"}})
        deadline = time.monotonic() + 2
        while not stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert json.loads(stream.getvalue())["path"] == "/v1/procedures"

    def test_the_fields_are_those_at_the_time_of_logging(self, root_handlers: None) -> None:
        stream = io.StringIO()
        configure_logging(stream)
        fields = {"status": 200}
        access_log.info("request", extra={"fields": fields})
        fields["status"] = 500
        flush_logs()
        assert json.loads(stream.getvalue())["status"] == 200

    def test_access_lines_match_the_records_of_logging(self, root_handlers: None) -> None:
        stream = io.StringIO()
        configure_logging(stream)
        fields = {"request_id": "abc", "method": "GET", "path": "/v1/sources", "status": 200}
        log_request(fields)
        access_log.info("request", extra={"fields": fields})
        flush_logs()
        direct, through_logging = (json.loads(line) for line in stream.getvalue().splitlines())
        assert direct == through_logging
        assert direct["logger"] == "skinkb.access" and direct["level"] == "info"

    def test_access_lines_hold_the_fields_as_they_were_when_logged(
        self, root_handlers: None
    ) -> None:
        stream = io.StringIO()
        configure_logging(stream)
        fields: dict[str, Any] = {"path": "/v1/sources", "status": 200}
        log_request(fields)
        fields["status"] = 500
        flush_logs()
        assert json.loads(stream.getvalue())["status"] == 200

    @pytest.mark.parametrize(
        "fields",
        [
            {"request_id": "abc", "path": "/v1/sources", "status": 200, "key_name": None},
            {"path": '/v1/"quoted"\\back\nline/é/😀', "duration_ms": 0.25},
            {"client": object()},  # not JSON: rendered with str(), as `line` does
            {},
        ],
    )
    def test_an_access_line_is_what_line_renders(self, fields: dict[str, Any]) -> None:
        formatter = JsonFormatter()
        for created in (1_764_547_200.2, 1_764_547_200.9, 1_764_547_201.1, 1_764_547_200.5):
            expected = formatter.line(created, "INFO", access_log.name, "request", fields)
            assert formatter.access_line(created, fields) == expected + "\n"

    def test_access_lines_go_through_logging_when_it_is_not_configured(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.setattr("api.http.log._access_lines", None)
        with caplog.at_level(logging.INFO, logger="skinkb.access"):
            log_request({"path": "/v1/sources"})
        assert [r.fields for r in caplog.records] == [{"path": "/v1/sources"}]  # type: ignore[attr-defined]
