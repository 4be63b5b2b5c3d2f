"""The run registry: one SQLite table of every run (backtest, paper, live, scan, sweep).

Each run gets an id and a folder ``<root>/<id>/`` holding ``config.json`` (the resolved config,
as the run saw it) and ``journal.sqlite`` (:class:`~tradecore.journal.Journal`). The registry,
``<root>/registry.sqlite``, keeps a row per run: kind, status, parameters, code version, data
range, start and finish times and summary metrics.

Run ids are ``YYYYMMDDTHHMMSSffffffZ-xxxxxx``: the UTC start time to the microsecond, then six
random hex digits. They sort by start time as text, and the random part (plus the table's
primary key, retried on a clash) keeps them unique across processes sharing a registry.

The root is, in order: the ``root`` argument, ``$TRADECORE_RUNS``, ``./runs``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import secrets
import sqlite3
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from tradecore._version import __version__
from tradecore.errors import ConfigError

if TYPE_CHECKING:
    from tradecore.journal.journal import Journal

__all__ = ["ENV_VAR", "RESUMABLE", "RunInfo", "RunRegistry", "code_version", "default_root", "end_failed_run", "new_run_id"]

ENV_VAR = "TRADECORE_RUNS"
RESUMABLE = ("running", "failed")
"""The statuses of a run a new process may take over: ``running`` (its process died: no status
was written) and ``failed`` (an error ended it). A finished or interrupted run is over."""

_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    folder TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    code_version TEXT NOT NULL,
    data_start TEXT,
    data_end TEXT,
    parameters TEXT NOT NULL,
    metrics TEXT
);
CREATE INDEX IF NOT EXISTS runs_kind ON runs (kind, id);
"""


def default_root() -> Path:
    """``$TRADECORE_RUNS`` or ``./runs``."""
    return Path(os.environ.get(ENV_VAR) or "runs")


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique run id for a run starting ``now`` (UTC)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def code_version() -> str:
    """The package version, plus the git commit (and ``-dirty``): the checkout's when the code
    runs from this repository's own checkout, else the one the installed package was built from
    (recorded by the build), else none. Never a commit of some other repository the files happen
    to sit in (an installed package inside pyenv's checkout or a project's virtualenv)."""
    here = Path(__file__).resolve().parent
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=here,
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=here, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        if Path(top).resolve() / "python" / "tradecore" != here.parent:
            described = ""  # another repository's checkout
    except (OSError, subprocess.SubprocessError):
        described = ""
    if not described:
        try:
            from tradecore._build import COMMIT as described
        except ImportError:  # an uninstalled tree without a build
            described = ""
    return f"{__version__}+{described}" if described else __version__


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run as registered. Times are ISO 8601 UTC text; ``metrics`` is None until finished."""

    id: str
    kind: str
    status: str
    folder: Path
    started_at: str
    finished_at: str | None
    code_version: str
    data_start: str | None
    data_end: str | None
    parameters: dict[str, Any]
    metrics: dict[str, Any] | None

    @property
    def journal_path(self) -> Path:
        return self.folder / "journal.sqlite"

    @property
    def config_path(self) -> Path:
        return self.folder / "config.json"


def _text(value: object) -> str | None:
    """A data range bound as stored: ISO 8601 (an int is ns UTC, as event times are)."""
    if value is None:
        return None
    if isinstance(value, int):
        value = dt.datetime.fromtimestamp(value // 1_000_000_000, dt.timezone.utc).replace(
            microsecond=value % 1_000_000_000 // 1000)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


class RunRegistry:
    """Register, finish, list and look up runs (see the module docstring).

    Parameters
    ----------
    root
        Folder of run folders and ``registry.sqlite``; default :func:`default_root`.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.path = self.root / "registry.sqlite"
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_DDL)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start_run(
        self,
        kind: str,
        config: Mapping[str, Any],
        code_version: str | None = None,
        data_range: tuple[object, object] | None = None,
    ) -> RunInfo:
        """Register a new run, create its folder and write ``config.json``.

        ``config`` is the resolved configuration (JSON-serialisable; its values are the run's
        parameters); ``data_range`` the first and last time of the data it runs on (datetimes,
        or ints as ns UTC), if known before it runs (else give it to :meth:`finish_run`).
        """
        if not kind:
            raise ConfigError("a run needs a kind (backtest, paper, live, ...)")
        try:
            parameters = json.dumps(dict(config), sort_keys=True, default=str)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"run config is not JSON-serialisable: {error}") from None
        version = code_version if code_version is not None else globals()["code_version"]()
        start, end = data_range if data_range is not None else (None, None)
        for _ in range(10):
            now = dt.datetime.now(dt.timezone.utc)
            run_id = new_run_id(now)
            folder = self.root / run_id
            try:
                self._db.execute(
                    "INSERT INTO runs (id, kind, status, folder, started_at, code_version, "
                    "data_start, data_end, parameters) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                    (run_id, kind, str(folder), now.isoformat(), version, _text(start),
                     _text(end), parameters),
                )
            except sqlite3.IntegrityError:
                continue
            break
        else:  # pragma: no cover - ten clashes of 24 random bits in the same microsecond
            raise ConfigError("could not allocate a unique run id")
        folder.mkdir(parents=True, exist_ok=False)
        (folder / "config.json").write_text(json.dumps(dict(config), indent=2, sort_keys=True,
                                                       default=str) + "\n")
        return self.get(run_id)

    def finish_run(self, run_id: str, metrics: Mapping[str, Any] | None = None,
                   *, status: str = "finished", data_range: tuple[object, object] | None = None) -> RunInfo:
        """Mark a run finished (or ``status="failed"``) with its summary metrics and, when
        given, the first and last time of the data it ran on (as :meth:`start_run`; a start
        already recorded is kept)."""
        info = self.get(run_id)
        self._db.execute(
            "UPDATE runs SET status = ?, finished_at = ?, metrics = ? WHERE id = ?",
            (status, dt.datetime.now(dt.timezone.utc).isoformat(),
             json.dumps(dict(metrics or {}), sort_keys=True, default=str), info.id),
        )
        if data_range is not None:  # a start noted earlier stays (a resumed run's began before)
            self._db.execute("UPDATE runs SET data_start = COALESCE(data_start, ?), data_end = ? WHERE id = ?",
                             (_text(data_range[0]), _text(data_range[1]), info.id))
        return self.get(info.id)

    def note_data_start(self, run_id: str, start: object) -> None:
        """Record when a run's data began (as :meth:`start_run`), unless already known: a live
        run notes it as it starts trading, so a run that dies still has it, and so does its
        resumption."""
        self._db.execute("UPDATE runs SET data_start = COALESCE(data_start, ?) WHERE id = ?",
                         (_text(start), self.get(run_id).id))

    def latest_unfinished(self, kind: str) -> RunInfo:
        """The most recent run of ``kind`` that never finished (its process died), for a resume."""
        row = self._db.execute("SELECT * FROM runs WHERE kind = ? AND status = 'running' "
                               "ORDER BY id DESC LIMIT 1", (kind,)).fetchone()
        if row is None:
            raise ConfigError(f"no unfinished {kind} run in {self.path} to resume")
        return self._info(row)

    def resumable(self, kind: str, run_id: str = "") -> RunInfo:
        """The run of ``kind`` to take over: ``run_id`` (an id or a unique prefix), or "" for
        :meth:`latest_unfinished`; refused unless its status is one of :data:`RESUMABLE`."""
        info = self.get(run_id) if run_id else self.latest_unfinished(kind)
        if info.kind != kind:
            raise ConfigError(f"run {info.id} is a {info.kind} run; only {kind} runs can be resumed")
        if info.status not in RESUMABLE:
            raise ConfigError(f"run {info.id} is {info.status}: only {' and '.join(RESUMABLE)} runs "
                              "can be resumed")
        return info

    def reopen(self, run_id: str) -> RunInfo:
        """Mark a run running again (a new process takes it over); its folder must exist."""
        info = self.get(run_id)
        if not info.journal_path.is_file():
            raise ConfigError(f"run {info.id} has no journal at {info.journal_path}: cannot resume it")
        self._db.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?", (info.id,))
        return self.get(info.id)

    def list(self, *, kind: str | None = None, limit: int | None = None) -> list[RunInfo]:
        """Runs, newest first (optionally of one kind, at most ``limit``)."""
        query = "SELECT * FROM runs" + (" WHERE kind = ?" if kind else "") + " ORDER BY id DESC"
        params: list[object] = [kind] if kind else []
        if limit is not None:
            query += " LIMIT ?"
            params.append(int(limit))
        return [self._info(row) for row in self._db.execute(query, params)]

    def get(self, run_id: str) -> RunInfo:
        """One run by id or by a unique prefix of its id."""
        rows = self._db.execute(
            "SELECT * FROM runs WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 2",
            (run_id, run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"),
        ).fetchall()
        exact = [row for row in rows if row[0] == run_id]
        if exact:
            return self._info(exact[0])
        if not rows:
            raise ConfigError(f"no run {run_id!r} in {self.path}")
        if len(rows) > 1:
            raise ConfigError(f"run id prefix {run_id!r} is ambiguous in {self.path}")
        return self._info(rows[0])

    @staticmethod
    def _info(row: tuple[Any, ...]) -> RunInfo:
        (run_id, kind, status, folder, started, finished, version, data_start, data_end,
         parameters, metrics) = row
        return RunInfo(run_id, kind, status, Path(folder), started, finished, version,
                       data_start, data_end, json.loads(parameters),
                       None if metrics is None else json.loads(metrics))


def end_failed_run(registry: RunRegistry, run_id: str, error: BaseException, *, journal: Journal | None,
                   now: int, hidden: tuple[str | None, ...] = (), metrics: Mapping[str, Any] | None = None
                   ) -> str:
    """Close a run that ``error`` ended: journal the error, close the journal (what was written
    before stays), and register the run ``failed`` (``interrupted`` for Ctrl-C or a cancel) with
    the error's message; return that status. ``hidden``: secrets blanked out of the message, so
    a key an exception happens to quote never reaches the journal or the registry.

    The error is stamped with the latest event time the journal holds: the market time the run
    had reached (a journal in market time must stay so: a resume goes on from its latest
    record); ``now``, the wall clock, only for a journal with no records yet."""
    interrupted = isinstance(error, (KeyboardInterrupt, asyncio.CancelledError))
    status = "interrupted" if interrupted else "failed"
    message = str(error) or type(error).__name__
    for secret in hidden:
        if secret:
            message = message.replace(secret, "***")
    try:
        if journal is not None:
            journal.flush()
            span = journal.ts_span()
            journal.error(now if span is None else span[1], f"run {status}: {message}", where="run",
                          error_type=type(error).__name__)
    finally:
        if journal is not None:
            journal.close()
        registry.finish_run(run_id, {**(metrics or {}), "error": message, "error_type": type(error).__name__},
                            status=status)
    return status
