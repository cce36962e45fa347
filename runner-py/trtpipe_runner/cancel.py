"""Cooperative cancellation shared by a gRPC call and the stage it runs."""
from __future__ import annotations

import threading
from typing import Callable

from .errors import Cancelled


class CancelToken:
    """Set once when the client goes away (or the server stops).

    Stages call `check()` between units of work; long native calls register
    a callback (for example ONNX Runtime's RunOptions.terminate) through
    `on_cancel` so they stop mid-call too.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Runs `callback` on cancellation (at once if already cancelled)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def check(self) -> None:
        """Raises Cancelled if the call was cancelled."""
        if self._event.is_set():
            raise Cancelled("the stage was cancelled by the client")

    def wait(self, seconds: float) -> bool:
        """Sleeps up to `seconds`; returns True if cancelled meanwhile."""
        return self._event.wait(seconds)
