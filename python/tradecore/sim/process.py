"""The embedded simulator in a process of its own, as a vendor's servers are.

`tradecore live` on the simulator used to run it in its own event loop: generating the market
(a step of every symbol, 0.2-0.5 ms) and answering the scanner's and warm-ups' REST requests
held that loop for up to 20 ms at ``--speed 600``, and the run's latency figures measured the
simulator as much as the pipeline. :class:`SimProcess` starts ``python -m tradecore.sim.process``
instead: the child fast-forwards to the join time, serves the feed and REST on loopback ports it
picks, and runs the session on the machine's other core.

The parent reads the child's session clock without asking: the child writes it into a shared
8-byte cell after every step (before that step's events can reach the parent), so ``now()`` is
never behind the data, as the in-process market's clock was not. The child prints ``ready
<stream url> <rest url>`` once it serves and ``finished`` when the session ends (20:00 New
York, 17:00 on an early-close day), then serves on until its stdin closes: the parent closes it at shutdown, and the kernel
closes it when the parent dies, even by ``kill -9``, so a child never outlives its run. It runs
in a session of its own: a Ctrl-C at the terminal reaches the run, which stops it in order (a
shutdown still flattens against its REST endpoints), not the simulator first.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import sys
import tempfile
from dataclasses import asdict, dataclass
from typing import Any, Self

import numpy as np

from tradecore.errors import ConfigError, Error
from tradecore.tasks import start_task

__all__ = ["SimOptions", "SimProcess"]

_log = logging.getLogger("tradecore.sim.process")


@dataclass(frozen=True)
class SimOptions:
    """What the child simulates: the session (``seed``, ``symbols``, ``speed``, ``start`` ns UTC
    or None for the default), the time it has reached before it serves (``until``, ns UTC, 0:
    the session's start) and, with ``starting_cash``, the Trading API endpoints with that cash."""

    seed: int
    symbols: int
    speed: float
    start: int | None = None
    until: int = 0
    starting_cash: str | None = None


class SimProcess:
    """The simulator's child process, seen from the run (see the module docstring)."""

    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self.stream_url = self.rest_url = ""
        self.finished = asyncio.Event()
        """Set when the session has ended, or the child has (see :meth:`serving`)."""
        self._process: asyncio.subprocess.Process | None = None
        self._cell_file: Any = None
        self._cell: np.ndarray | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False
        self._stopped_at = 0

    def now(self) -> int:
        """The simulator's session clock (ns UTC), as of its last step (after close(): where
        it stopped; before start(): 0)."""
        return int(self._cell[0]) if self._cell is not None else self._stopped_at

    async def start(self) -> Self:
        """Start the child and wait until it serves (however long its fast-forward takes: a
        large universe joined late takes minutes); raises ConfigError if it cannot start."""
        self._cell_file = _cell_file()
        self._cell_file.truncate(8)
        self._cell = np.memmap(self._cell_file.name, dtype=np.int64, mode="r+", shape=(1,))
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tradecore.sim.process", json.dumps(asdict(self.options)), self._cell_file.name,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, start_new_session=True)
        try:
            line = await self._line()  # "" if the child ended
        except BaseException:  # cancelled (a Ctrl-C during the fast-forward): no child left behind
            await self.close()
            raise
        fields = line.split()
        if len(fields) != 3 or fields[0] != "ready":
            await self.close()
            code = self._process.returncode
            raise ConfigError(f"the simulator did not start (exit code {code}; its log is above)")
        self.stream_url, self.rest_url = fields[1], fields[2]
        # The child has mapped the cell (before it said ready): its name can go now, so a run
        # killed with -9 leaves no file behind. Both mappings outlive it.
        self._cell_file.close()
        self._cell_file = None
        _log.info("simulator (process %d) on %s (feed) and %s (REST)", self._process.pid, self.stream_url,
                  self.rest_url)
        self._watcher = start_task(self._watch(), "tradecore.sim.process.watch", log=_log)
        return self

    async def serving(self) -> None:
        """Wait as long as the child serves; raise :class:`~tradecore.errors.Error` if it ends
        before :meth:`close` (a run whose simulator crashed fails instead of ending quietly)."""
        assert self._watcher is not None, "start() first"
        await asyncio.shield(self._watcher)  # it follows the child until it ends
        if not self._closing:
            assert self._process is not None
            raise Error(f"the simulator ended unexpectedly (exit code {self._process.returncode})")

    async def close(self) -> None:
        """Stop the child: closing its stdin once it serves (it closes its servers), then by
        force if it does not end in 10 s; at once while it still fast-forwards (nothing is
        served yet, and it reads its stdin only once it serves)."""
        self._closing = True
        process = self._process
        if process is not None and process.returncode is None:
            assert process.stdin is not None
            process.stdin.close()
            if not self.stream_url:
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except asyncio.TimeoutError:
                _log.warning("the simulator did not stop in 10 s: killing it")
                process.kill()
                await process.wait()
        if self._watcher is not None:
            await asyncio.gather(self._watcher, return_exceptions=True)
        if self._cell is not None:
            self._stopped_at = self.now()
            self._cell = None
        if self._cell_file is not None:  # it never said ready
            self._cell_file.close()
            self._cell_file = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _line(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        return (await self._process.stdout.readline()).decode()

    async def _watch(self) -> None:
        """Follow the child: ``finished`` when it says so, or when it ends (whether that is a
        failure, :meth:`serving` says)."""
        while line := await self._line():
            if line.strip() == "finished":
                self.finished.set()
        assert self._process is not None
        await self._process.wait()
        self.finished.set()  # nothing more will come


SHARED_MEMORY = "/dev/shm"
"""Where the clock cell goes when the machine has it."""


def _cell_file() -> Any:
    """The clock cell's file: in shared memory when the machine has it (the clock is written at
    every step), else in the temporary folder. Kept open, and so on disk, until the child has
    mapped it by name."""
    try:
        return tempfile.NamedTemporaryFile(prefix="tradecore-sim-clock-", dir=SHARED_MEMORY)
    except OSError:  # no /dev/shm (macOS), or not writable here
        return tempfile.NamedTemporaryFile(prefix="tradecore-sim-clock-")


# -- the child -------------------------------------------------------------------------------


async def _serve(options: SimOptions, cell_path: str) -> None:
    from tradecore.sim.server import SimServer
    from tradecore.sim.simulated import SimulatedMarket

    cell = np.memmap(cell_path, dtype=np.int64, mode="r+", shape=(1,))
    market = SimulatedMarket(seed=options.seed, speed=options.speed, symbols=options.symbols, start=options.start)
    market.advance(options.until)  # nothing is served yet: as fast as it goes

    def publish_clock() -> None:
        cell[0] = market.now()

    publish_clock()
    market.on_step = publish_clock
    routes = []
    if options.starting_cash is not None:
        from tradecore.sim.trading import install

        routes.append(functools.partial(install, starting_cash=options.starting_cash))
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    async with SimServer(market, port=0, extra_routes=routes) as server:
        print(f"ready {server.stream_url} {server.rest_url}", flush=True)
        finished = asyncio.ensure_future(server.finished.wait())
        parent_gone = asyncio.ensure_future(stdin.read())  # b"" at EOF: the parent closed it, or died
        await asyncio.wait({finished, parent_gone}, return_when=asyncio.FIRST_COMPLETED)
        if finished.done():
            print("finished", flush=True)
            await parent_gone  # serve on: a shutdown may still flatten through the REST endpoints
        finished.cancel()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The embedded simulator's child process (see tradecore.sim.process).")
    parser.add_argument("options", help="SimOptions as JSON")
    parser.add_argument("cell", help="the shared clock cell's file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(SimOptions(**json.loads(args.options)), args.cell))


if __name__ == "__main__":
    main()
