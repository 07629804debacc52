"""Values remembered per key with the knowledge-base revision they were made at.

Every edit of the knowledge base bumps `kb_revision` in its own transaction, so a value made at a
revision holds until the revision moves: a reader that read revision r first may reuse what was
made at r. The response cache, list totals and search's vocabulary keep one each; this is their
shared bounded store. It trusts the revision never to go back: a database replaced under a
running server needs the server restarted.
"""

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RevisionMemo(Generic[K, V]):
    """An LRU of values by key, each valid at one revision; bounded in entries and, when
    `max_bytes` is given, in the bytes `size_of` counts (a value over an eighth of that budget
    is not kept). Thread-safe."""

    def __init__(self, size: int, max_bytes: int | None = None) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[K, tuple[int, V]] = OrderedDict()
        self._lock = threading.Lock()

    def size_of(self, key: K, value: V) -> int:
        """The bytes an entry counts against `max_bytes` (subclasses that bound bytes say)."""
        return 0

    def get(self, key: K, revision: int) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != revision:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: K, revision: int, value: V) -> None:
        size = self.size_of(key, value)
        if self._max_bytes is not None and size > self._max_bytes // 8:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes += size - (self.size_of(key, old[1]) if old else 0)
            self._entries[key] = (revision, value)
            while len(self._entries) > self._size or (
                self._max_bytes is not None and self._bytes > self._max_bytes
            ):
                dropped_key, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= self.size_of(dropped_key, dropped)

    def keys(self) -> Iterator[K]:
        with self._lock:
            return iter(list(self._entries))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
