"""Logs as JSON lines: one object per line, with each record's extra fields, written by a thread
of their own so that no request waits on stdout."""

import atexit
import logging
import sys
import threading
import time
from typing import Any, TextIO

import orjson

access_log = logging.getLogger("skinkb.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extra fields."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._stamp = ""
        self._access_head = (-1, "")  # (second, what its access lines begin with)

    def format(self, record: logging.LogRecord) -> str:
        error = self.formatException(record.exc_info).splitlines()[-1] if record.exc_info else None
        fields = getattr(record, "fields", {})
        return self.line(
            record.created, record.levelname, record.name, record.getMessage(), fields, error
        )

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        msg: str,
        fields: dict[str, Any],
        error: str | None = None,
    ) -> str:
        line = {
            "ts": self._timestamp(created),
            "level": level.lower(),
            "logger": logger,
            "msg": msg,
        }
        line.update(fields)
        if error is not None:
            line["error"] = error
        return orjson.dumps(line, default=str).decode()

    def access_line(self, created: float, fields: dict[str, Any]) -> str:
        """An access line as `line` renders it, the part every one of the second shares (time,
        level, logger, message) rendered once: all a line of its own costs is its fields."""
        if not fields:
            return self.line(created, "INFO", access_log.name, "request", fields) + "\n"
        second, head = self._access_head
        if int(created) != second:
            head = self.line(created, "INFO", access_log.name, "request", {})[:-1] + ","
            self._access_head = (int(created), head)
        return head + orjson.dumps(fields, default=str)[1:].decode() + "\n"

    def _timestamp(self, created: float) -> str:
        # Whole seconds, so one rendering serves every line of that second.
        second = int(created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z", self.converter(created))
            self._second = second
        return self._stamp


class BufferedLines(logging.Handler):
    """Formats each record when it is logged (its fields as they are then) and keeps the line;
    a writer thread writes what has gathered every `interval` seconds in one write, and at exit.
    Past `max_pending` lines (a stream that stopped taking them) new lines are dropped, and
    counted in the next line written."""

    def __init__(self, stream: TextIO, interval: float = 0.1, max_pending: int = 100_000) -> None:
        super().__init__()
        self.stream = stream
        self.interval = interval
        self.max_pending = max_pending
        self.dropped = 0
        self._lines: list[str] = []
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._write_every_interval, daemon=True)
        self._writer.name = "skinkb-log-writer"
        self._writer.start()
        atexit.register(self.close)

    def emit(self, record: logging.LogRecord) -> None:
        # (Under the handler's lock, which `flush` takes to swap the buffer.)
        try:
            if len(self._lines) < self.max_pending:
                self._lines.append(self.format(record) + "\n")
            else:
                self.dropped += 1
        except Exception:  # noqa: BLE001 (logging's own way: report, never raise)
            self.handleError(record)

    def add_access(self, created: float, fields: dict[str, Any]) -> None:
        """Render an access line and keep it (an append is atomic, as the swap in `flush` is: no
        lock). Rendered here, not by the writer: Python work in the writer thread would contend
        with the event loop for the GIL, and cost a busy server more than the rendering does."""
        if len(self._lines) < self.max_pending:
            formatter = self.formatter
            assert isinstance(formatter, JsonFormatter)  # (`configure_logging` sets it)
            self._lines.append(formatter.access_line(created, fields))
        else:
            self.dropped += 1

    def flush(self) -> None:
        """Write every line logged so far."""
        self.acquire()
        try:
            lines, self._lines = self._lines, []
            dropped, self.dropped = self.dropped, 0
        finally:
            self.release()
        if dropped:
            lines.append(orjson.dumps({"level": "warning", "dropped_lines": dropped}).decode())
            lines.append("\n")
        if lines:
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except (OSError, ValueError):  # a closed or broken stream: nothing left to tell
                pass

    def close(self) -> None:
        global _access_lines
        if _access_lines is self:
            _access_lines = None
        self._stop.set()
        self.flush()
        super().close()

    def _write_every_interval(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()


# The buffer `configure_logging` made, which access lines go into directly.
_access_lines: BufferedLines | None = None


def log_request(fields: dict[str, Any]) -> None:
    """A request's access line: rendered straight into the buffer of `configure_logging` when it
    set one up (no LogRecord, no caller lookup: most of the cost of a warm read otherwise), else
    through `logging` like any other record."""
    lines = _access_lines
    if lines is None or not access_log.isEnabledFor(logging.INFO):
        access_log.info("request", extra={"fields": fields})
        return
    lines.add_access(time.time(), fields)


def configure_logging(stream: Any = sys.stdout) -> None:
    """JSON lines on `stream`, written every 100 ms by a thread (and at exit)."""
    global _access_lines
    # The lines say none of these; left on, every record looks them up.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = BufferedLines(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in root.handlers:
        old.close()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    _access_lines = handler


def flush_logs() -> None:
    """Write out every line logged so far (at shutdown)."""
    for handler in logging.getLogger().handlers:
        handler.flush()
