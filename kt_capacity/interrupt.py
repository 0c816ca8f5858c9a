"""Ctrl-C during a search: stop at the next batch, at a point where it is safe.

Python delivers KeyboardInterrupt wherever the main thread happens to be, and
inside TensorFlow or a weakref callback it can be swallowed ("Exception ignored")
so the search runs on. `deferred_sigint` turns the first SIGINT into a request that
`StopOnRequest` honours at the next batch end by raising KeyboardInterrupt from
ordinary Python code; a second SIGINT interrupts at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading

import keras


class StopRequest:
    """A flag set by the SIGINT handler."""

    def __init__(self):
        self.requested = False

    def check(self) -> None:
        """Raise KeyboardInterrupt if a stop was requested."""
        if self.requested:
            raise KeyboardInterrupt("search interrupted by SIGINT")


@contextlib.contextmanager
def deferred_sigint():
    """Install the deferring SIGINT handler (main thread only); yields the flag."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request.requested:
            raise KeyboardInterrupt
        request.requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


class StopOnRequest(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the first batch end after a stop request."""

    def __init__(self, request: StopRequest):
        super().__init__()
        self.request = request

    def on_train_batch_end(self, batch, logs=None):
        self.request.check()

    def on_test_batch_end(self, batch, logs=None):
        self.request.check()
