from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notifications.receivers import (
    HttpReceiver,
    SmtpServer,
    running_smtp,
    start_http_receiver,
    stop_http_receiver,
)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    rec, server = start_http_receiver()
    yield rec
    stop_http_receiver(rec, server)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from running_smtp()
