"""Fixtures for stream tests: a loopback Alpaca server, streams that are always closed, and
damage to stored Parquet files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
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


@pytest.fixture
def flip_value_byte() -> Callable[[Path, str], None]:
    """Return ``flip(path, column)``: change one byte of a column's values in a Parquet file.

    The byte is near the end of the column's chunk in row group 0, inside its last data page
    past the page header, so the file stays well-formed: without page checksums the values
    read back changed, with no error.
    """

    def flip(path: Path, column: str) -> None:
        meta = pq.read_metadata(path)
        chunk = meta.row_group(0).column(meta.schema.names.index(column))
        start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
        data = bytearray(path.read_bytes())
        data[start + chunk.total_compressed_size - 5] ^= 0x5A
        path.write_bytes(bytes(data))

    return flip
