"""The request log: one JSON line per request, written without holding up the answer."""

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.http.log import (
    BufferedLines,
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

    def test_access_lines_are_rendered_by_the_writer_not_the_request(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        stream = io.StringIO()
        lines = BufferedLines(stream, interval=60)  # written only when flushed below
        formatter = JsonFormatter()
        lines.setFormatter(formatter)
        monkeypatch.setattr("api.http.log._access_lines", lines)
        rendered: list[str] = []
        render = formatter.line

        def counted(*args: Any) -> str:
            rendered.append(args[4]["path"])
            return render(*args)

        monkeypatch.setattr(formatter, "line", counted)
        try:
            log_request({"path": "/v1/sources", "status": 200})
            assert rendered == []  # the request only kept it
            lines.flush()
        finally:
            lines.close()
        assert rendered == ["/v1/sources"]
        line = json.loads(stream.getvalue())
        assert line["path"] == "/v1/sources" and line["msg"] == "request" and line["ts"]

    def test_access_lines_go_through_logging_when_it_is_not_configured(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.setattr("api.http.log._access_lines", None)
        with caplog.at_level(logging.INFO, logger="skinkb.access"):
            log_request({"path": "/v1/sources"})
        assert [r.fields for r in caplog.records] == [{"path": "/v1/sources"}]  # type: ignore[attr-defined]
