"""Logs as JSON lines: one object per line, with each record's extra fields, written by a thread
of their own so that no request waits on stdout."""

import atexit
import logging
import sys
import threading
from typing import Any, TextIO

import orjson

access_log = logging.getLogger("skinkb.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extra fields."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return orjson.dumps(line, default=str).decode()

    def _timestamp(self, record: logging.LogRecord) -> str:
        # Whole seconds, so one rendering serves every line of that second.
        second = int(record.created)
        if second != self._second:
            self._stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z")
            self._second = second
        return self._stamp


class BufferedLines(logging.Handler):
    """Formats each record when it is logged (its fields as they are then) and keeps the line; a
    writer thread writes what has gathered every `interval` seconds in one write, and at exit.
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
        self._stop.set()
        self.flush()
        super().close()

    def _write_every_interval(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()


def configure_logging(stream: Any = sys.stdout) -> None:
    """JSON lines on `stream`, written every 100 ms by a thread (and at exit)."""
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


def flush_logs() -> None:
    """Write out every line logged so far (at shutdown)."""
    for handler in logging.getLogger().handlers:
        handler.flush()
