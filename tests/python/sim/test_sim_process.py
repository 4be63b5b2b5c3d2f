"""The embedded simulator in its own process (tradecore.sim.process): served over real sockets,
its clock never behind its data, its end reported, and never outliving its parent."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from tradecore.errors import Error
from tradecore.scanners import MarketDataClient
from tradecore.sim import process
from tradecore.sim.generator import new_york_ns
from tradecore.sim.process import SimOptions, SimProcess
from tradecore.streams.alpaca import AlpacaStream
from tradecore.streams.base import GroupedBatch

DAY = dt.date(2026, 11, 24)  # a Tuesday
START = new_york_ns(DAY, "04:00")


@pytest.mark.asyncio
async def test_the_child_serves_the_session_from_the_join_time_with_a_clock_never_behind_its_data() -> None:
    until = new_york_ns(DAY, "05:30")
    options = SimOptions(seed=3, symbols=40, speed=120.0, start=START, until=until)
    before = _cell_files()
    async with SimProcess(options) as sim:
        assert sim.now() >= until  # fast-forwarded before it served
        assert _cell_files() <= before  # the cell's name is gone once it serves: a kill -9 leaks nothing
        async with MarketDataClient(sim.rest_url, key_id="k", secret_key="s") as client:
            symbols = [row["symbol"] for row in await client.most_actives(top=20)]
        assert symbols
        stream = AlpacaStream(url=sim.stream_url, key_id="k", secret_key="s", channels=("trades", "quotes"))
        await stream.subscribe(symbols)
        seen = behind = 0
        started, deadline = sim.now(), time.monotonic() + 3
        async for part in stream.parts():
            clock = sim.now()
            behind += int(part.events["ts_event"].max()) > clock
            seen += len(part) if isinstance(part, GroupedBatch) else len(part.events)
            if seen >= 100 or time.monotonic() > deadline:
                break
        await stream.close()
        assert seen > 0 and behind == 0
        assert sim.now() > started  # and the session moves on, at its pace
        assert not sim.finished.is_set()
    assert sim.now() > started  # where it stopped, readable after close


@pytest.mark.asyncio
async def test_the_end_of_the_session_is_reported_and_the_child_serves_until_closed() -> None:
    options = SimOptions(seed=3, symbols=20, speed=600.0, start=new_york_ns(DAY, "19:58"))  # 2 minutes
    async with SimProcess(options) as sim:
        await asyncio.wait_for(sim.finished.wait(), 30)
        async with MarketDataClient(sim.rest_url, key_id="k", secret_key="s") as client:
            assert (await client.movers(top=3))["gainers"]  # still serving after the end
    assert sim.finished.is_set()


@pytest.mark.asyncio
async def test_a_child_that_dies_is_reported_as_a_failure_not_as_the_end_of_the_session() -> None:
    async with SimProcess(SimOptions(seed=3, symbols=10, speed=60.0, start=START)) as sim:
        serving = asyncio.ensure_future(sim.serving())
        await asyncio.sleep(0.05)
        assert not serving.done()  # it serves
        assert sim._process is not None
        os.kill(sim._process.pid, signal.SIGKILL)
        with pytest.raises(Error, match=r"ended unexpectedly \(exit code -9\)"):
            await asyncio.wait_for(serving, 10)
        assert sim.finished.is_set()
    async with SimProcess(SimOptions(seed=3, symbols=10, speed=60.0, start=START)) as sim:
        serving = asyncio.ensure_future(sim.serving())
    await serving  # closed by its owner: no failure


@pytest.mark.asyncio
async def test_a_start_cancelled_during_the_fast_forward_leaves_no_child() -> None:
    """A Ctrl-C while the child generates the premarket up to the join time (minutes for a
    large universe joined late): the child is stopped, not left running."""
    sim = SimProcess(SimOptions(seed=3, symbols=300, speed=60.0, start=START, until=new_york_ns(DAY, "09:00")))
    starting = asyncio.ensure_future(sim.start())
    while sim._process is None:
        await asyncio.sleep(0.01)
    child = sim._process.pid
    await asyncio.sleep(0.3)
    assert _alive(child) and not starting.done()
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert not _alive(child)


@pytest.mark.asyncio
async def test_without_shared_memory_the_clock_cell_lives_in_the_temporary_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No /dev/shm (macOS, a container without it): the clock works the same from a file in the
    temporary folder, and its name is gone once the child serves."""
    monkeypatch.setattr(process, "SHARED_MEMORY", str(tmp_path / "no-shm-here"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the fallback goes, to look at
    until = new_york_ns(DAY, "04:20")
    async with SimProcess(SimOptions(seed=3, symbols=10, speed=60.0, start=START, until=until)) as sim:
        assert sim.now() >= until
        assert sim._cell is not None and Path(sim._cell.filename).parent == tmp_path
        assert not list(tmp_path.glob("tradecore-sim-clock-*"))
        first = sim.now()
        deadline = time.monotonic() + 5
        while sim.now() == first and time.monotonic() < deadline:  # the child still writes it
            await asyncio.sleep(0.05)
        assert sim.now() > first
    assert not (tmp_path / "no-shm-here").exists()


@pytest.mark.asyncio
async def test_a_child_that_cannot_start_is_a_clear_error() -> None:
    with pytest.raises(Exception, match="did not start"):
        await SimProcess(SimOptions(seed=-1, symbols=5, speed=60.0, start=START)).start()  # no such seed


def test_the_child_ends_when_its_parent_is_killed() -> None:
    """kill -9 of the run (a crash): the kernel closes the child's stdin and it exits."""
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import asyncio, sys
        from tradecore.sim.process import SimOptions, SimProcess

        async def main():
            sim = await SimProcess(SimOptions(seed=1, symbols=10, speed=60.0, start={START})).start()
            print(sim._process.pid, flush=True)
            await asyncio.sleep(3600)

        asyncio.run(main())
    """)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 15
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def _cell_files() -> set[Path]:
    return {path for folder in (Path("/dev/shm"), Path(tempfile.gettempdir()))
            for path in folder.glob("tradecore-sim-clock-*")}
