"""Fixtures for stream tests: a loopback Alpaca server and streams that are always closed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest_asyncio
from tradecore.streams.alpaca import AlpacaStream, Backoff
from tradecore.streams.testing import AlpacaTestServer

FAST = Backoff(initial=0.01, maximum=0.05, jitter=0.5)
"""Reconnect quickly in tests; the delays are not what is tested."""


@pytest_asyncio.fixture
async def server() -> AsyncIterator[AlpacaTestServer]:
    async with AlpacaTestServer() as running:
        yield running


@pytest_asyncio.fixture
async def make_stream(server: AlpacaTestServer) -> AsyncIterator[Callable[..., AlpacaStream]]:
    """Return ``make(**options)`` building a stream on ``server``; all are closed afterwards."""
    streams: list[AlpacaStream] = []

    def make(**options: Any) -> AlpacaStream:
        options.setdefault("url", server.url)
        options.setdefault("key_id", server.key_id)
        options.setdefault("secret_key", server.secret_key)
        options.setdefault("backoff", FAST)
        options.setdefault("reply_timeout", 5.0)
        stream = AlpacaStream(**options)
        streams.append(stream)
        return stream

    yield make
    for stream in streams:
        await stream.close()
