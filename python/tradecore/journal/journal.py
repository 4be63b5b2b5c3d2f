"""The durable run journal: one SQLite file (WAL) of everything a run observed and decided.

Records
-------
Every record is a row of one append-only table, ``events``: a sequence number ``seq`` (the
order records were appended), its ``kind``, ``ts_event`` (int64 ns UTC, the event's own time),
``ts_written`` (int64 ns UTC, wall clock when appended), ``symbol``, ``order_id`` (orders,
order updates and fills) and ``data``, a JSON object. Floats are written by :func:`json.dumps`,
which round-trips every ``float`` exactly, so prices read back bit for bit. Kinds:

``universe`` (:meth:`Journal.universe_change`), ``transition``, ``intent``, ``risk``,
``order``, ``order_update``, ``fill``, ``position``, ``error``, ``latency``, ``feed`` (feed
health changes: :mod:`tradecore.health`), ``kill_switch`` (the daily loss limit tripped it, or a
new trading day or an operator reset it: :meth:`Journal.kill_switch`), ``resumed`` (a process took the run over after a
crash, :meth:`Journal.resumed`) and ``reconciliation`` (what a resume found against the broker
and what it corrected, :meth:`Journal.reconciliation`) and ``adoption`` (whether a strategy took a
restored position over, and why: :meth:`Journal.adoption`).

``order`` records are keyed by the client order id (written before the order is sent, so no
broker id exists yet); ``order_update`` and ``fill`` records by the broker's order id, with the
client order id in their data when known, which is how :meth:`Journal.open_orders` links them.

Transitions and intents are stored with the rule, state and value names resolved to text
(:class:`StrategyNames`), so a journal reads without the strategy objects that wrote it.

Commit policy
-------------
- *Acknowledged* kinds (universe, intent, risk, order, order_update, fill, position, error) are
  committed before the append method returns: when ``journal.fill(...)`` returns, the fill is in
  the file, and whatever the caller then acknowledges (to a broker, a strategy, a user) cannot
  be lost by a crash of this process.
- *High-volume* kinds (transitions, latency samples, feed-health changes, which come in bursts:
  a reconnect changes every symbol at once) are buffered in memory and written in one
  transaction when the oldest buffered record is ``flush_interval_ms`` old (checked on every
  append), when ``batch_size`` are buffered, at the next acknowledged record (written first, in
  the same transaction, so ``seq`` is always append order), on :meth:`Journal.flush` and on
  :meth:`Journal.close`. A crash loses at most the unflushed buffer of these kinds.
- Inside :meth:`Journal.transaction`, acknowledged kinds wait with the buffer too, and all that
  was appended is committed in one transaction when the (outermost) block ends. The caller
  promises to acknowledge none of it before then, and not to yield to the event loop inside
  (another task would see, or append to, records not yet committed). The paper venue's intent
  step is one: its intent, risk decision, order, order updates, fill and position are one
  commit, since nothing of it leaves the process before the block ends (the simulated venue
  lives and dies with the process: a crash loses the whole step, never a part of it).
- A *grouped* block (``transaction(grouped=True)``, the paper venue's intent steps) commits at
  the event loop's next turn instead of when it ends: a callback scheduled when the first such
  block opens, so every grouped block that ends before then (a burst of intents, one per symbol
  task the loop runs in that turn) shares one commit, and one fsync. What changes: a crash can
  lose the steps of that turn, each whole, where it lost at most one. Why it stays sound: what
  a step touched lives and dies with the process, as above; the callback is queued before
  anything a step wakes (a task, a timer, I/O run after it), so only tasks already ready when
  the first block opened run before the commit (other symbols' steps, which join it; a bus
  subscriber, in this process, may show a step's events first); an acknowledged record
  appended outside a block in the meantime commits at once, the waiting steps with it, in
  append order.

Durability
----------
The journal runs in WAL mode. ``synchronous="FULL"`` (default) fsyncs the WAL at every commit:
committed records survive a process crash *and* an OS crash or power loss. ``"NORMAL"`` fsyncs
only at checkpoints: committed records survive a process crash (kill -9) but the last
transactions may be lost on power loss; it is several times faster per commit and is the right
choice for backtests, whose journal can be regenerated. A commit costs one fsync under FULL
(about 0.1-5 ms depending on the disk), paid on the caller's thread: the journal is owned by one
thread (the event loop) and is not thread-safe.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np

from tradecore import schema
from tradecore.errors import ConfigError

__all__ = [
    "ACKNOWLEDGED_KINDS",
    "BATCHED_KINDS",
    "KINDS",
    "Journal",
    "OpenOrder",
    "Position",
    "Record",
    "StrategyNames",
]

logger = logging.getLogger("tradecore.journal")

KINDS = (
    "universe",
    "transition",
    "intent",
    "risk",
    "order",
    "order_update",
    "fill",
    "position",
    "error",
    "latency",
    "feed",
    "kill_switch",
    "resumed",
    "reconciliation",
    "adoption",
)
_KIND_SET = frozenset(KINDS)
BATCHED_KINDS = frozenset({"transition", "latency", "feed"})
ACKNOWLEDGED_KINDS = frozenset(KINDS) - BATCHED_KINDS

SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ts_event INTEGER NOT NULL,
    ts_written INTEGER NOT NULL,
    symbol TEXT,
    order_id TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, seq);
CREATE INDEX IF NOT EXISTS events_order ON events (order_id, seq) WHERE order_id IS NOT NULL;
"""

_TERMINAL = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED", "DONE_FOR_DAY", "REPLACED"})


@dataclass(frozen=True, slots=True)
class Record:
    """One journal record as read back (``data`` as written, JSON types)."""

    seq: int
    kind: str
    ts_event: int
    ts_written: int
    symbol: str | None
    order_id: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An order not in a terminal state as of the last committed record.

    ``filled_quantity`` sums the journaled fills (shares); ``status`` is the last update's.
    """

    order_id: str
    symbol: str
    side: str
    quantity: float
    filled_quantity: float
    status: str
    order_type: str
    limit_price: float | None
    stop_price: float | None
    time_in_force: str
    client_order_id: str | None
    ts_submit: int
    details: dict[str, Any]
    broker_order_id: str | None = None  # from the first update or fill that named it


@dataclass(frozen=True, slots=True)
class Position:
    """The last journaled position of a symbol (``quantity`` in shares, negative = short)."""

    symbol: str
    quantity: float
    average_price: float
    realized_pnl: float
    ts_event: int
    seq: int


@dataclass(frozen=True, slots=True)
class StrategyNames:
    """The names that resolve a strategy's transition and intent records to text."""

    strategy: str
    states: tuple[str, ...]
    rules: tuple[str, ...]
    values: tuple[str, ...]

    @classmethod
    def of(cls, strategy: object) -> StrategyNames:
        """Read the names of a native or Python strategy object."""
        rules = [getattr(r, "name", r) for r in strategy.rules]  # type: ignore[attr-defined]
        return cls(
            strategy=str(getattr(strategy, "name", type(strategy).__name__)),
            states=tuple(strategy.state_names),  # type: ignore[attr-defined]
            rules=tuple(str(r) for r in rules),
            values=tuple(strategy.value_names),  # type: ignore[attr-defined]
        )

    def _name(self, names: tuple[str, ...], index: int) -> str:
        return names[index] if 0 <= index < len(names) else f"#{index}"


def _enum_name(enum_type: type[enum.Enum], value: object) -> str:
    if isinstance(value, str):
        return value.upper()
    number = int(value)  # type: ignore[call-overload]  # a native enum or an int
    name = _ENUM_NAMES.get((enum_type, number))
    if name is None:  # first sight (an Enum call costs a microsecond: once per member)
        try:
            name = enum_type(number).name
        except ValueError:
            return f"#{number}"
        _ENUM_NAMES[(enum_type, number)] = name
    return name


_ENUM_NAMES: dict[tuple[type[enum.Enum], int], str] = {}


_SCALARS = frozenset({str, int, float, bool, type(None)})
_ENCODER = json.JSONEncoder(allow_nan=True, separators=(",", ":"))  # json.dumps builds one per call


def _make_encode() -> Callable[[object], str]:
    """``_ENCODER.encode``, its C encoder built once (``JSONEncoder.encode`` builds one at every
    call); no check for circular data (records have none: it would end in RecursionError)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return _ENCODER.encode
    iterencode = make(None, _ENCODER.default, json.encoder.encode_basestring_ascii, None,
                      _ENCODER.key_separator, _ENCODER.item_separator, False, False, True)
    return lambda value: "".join(iterencode(value, 0))


_encode = _make_encode()


def _plain(value: object) -> object:
    """Convert NumPy scalars and containers to JSON types (floats stay exact)."""
    if type(value) in _SCALARS:  # most values: no isinstance checks against ABCs
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if type(value) is dict or isinstance(value, Mapping):  # a dict first: no ABC check
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def _field(record: object, name: str, default: object = None) -> object:
    if type(record) is dict or isinstance(record, Mapping):  # a dict first: no ABC check
        return record.get(name, default)
    try:
        return record[name]  # type: ignore[index]
    except (KeyError, ValueError, IndexError):
        return getattr(record, name, default)


def _now_ns() -> int:
    return time.time_ns()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _Transaction:
    """:meth:`Journal.transaction`'s block (a class: it is entered for every intent step)."""

    __slots__ = ("grouped", "journal")

    def __init__(self, journal: Journal, grouped: bool) -> None:
        self.journal, self.grouped = journal, grouped

    def __enter__(self) -> None:
        self.journal._enter(self.grouped)

    def __exit__(self, *exc: object) -> None:
        self.journal._exit(self.grouped)


class Journal:
    """Append and read a run's journal (see the module docstring).

    Parameters
    ----------
    path
        The SQLite file (created with its folder if missing).
    synchronous
        ``"FULL"`` (default, survives power loss) or ``"NORMAL"`` (survives process crashes).
    flush_interval_ms
        Longest time a buffered transition or latency sample waits before it is written, ms.
    batch_size
        Buffered records that force a write.
    readonly
        Open for reading only (no schema creation, appends raise).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        flush_interval_ms: float = 250.0,
        batch_size: int = 1000,
        readonly: bool = False,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ConfigError(f"synchronous must be 'FULL' or 'NORMAL', not {synchronous!r}")
        if flush_interval_ms < 0 or batch_size < 1:
            raise ConfigError("flush_interval_ms must be >= 0 and batch_size >= 1")
        self.path = Path(path)
        self.readonly = readonly
        self.flush_interval_ns = int(flush_interval_ms * 1e6)
        self.batch_size = int(batch_size)
        if readonly:
            if not self.path.is_file():
                raise ConfigError(f"no journal at {self.path}")
            # Not mode=ro: reading a WAL database left by a crash may need to recover its index.
            self._db = sqlite3.connect(self.path, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(_DDL)
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        self._buffer: list[tuple[str, int, int, str | None, str | None, str]] = []
        self._buffer_since = 0
        self._depth = 0  # transaction() blocks open
        self._held = False  # an acknowledged record waits in the buffer for the block's end
        # The loop whose next turn commits the grouped blocks (None: no commit scheduled).
        self._commit_loop: asyncio.AbstractEventLoop | None = None
        self._single, self._grouped = _Transaction(self, False), _Transaction(self, True)
        self._closed = False
        self.stats = {"commits": 0, "records": 0}

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write what is buffered and close the file (idempotent)."""
        if self._closed:
            return
        try:
            if not self.readonly:
                self.flush()
        finally:
            self._closed = True
            self._db.close()

    def flush(self) -> None:
        """Commit the buffered high-volume records now."""
        if self._buffer:
            self._commit([])

    def transaction(self, *, grouped: bool = False) -> AbstractContextManager[None]:
        """Commit every record appended inside in one transaction when the block ends (see the
        module docstring for what the caller promises). Blocks nest: the outermost commits.

        ``grouped``: the commit waits for the event loop's next turn, so every grouped block
        that ends before then shares it (see "Commit policy"); without a running loop it is
        made when the block ends."""
        return self._grouped if grouped else self._single

    def _enter(self, grouped: bool) -> None:
        self._depth += 1
        if grouped and self._depth == 1:
            loop = _running_loop()
            if loop is not None and self._commit_loop is not loop:
                # Scheduled at the block's start: before any callback or task the block may wake.
                loop.call_soon(self._commit_group)
                self._commit_loop = loop

    def _exit(self, grouped: bool) -> None:
        self._depth -= 1
        if self._depth:
            return
        if grouped and self._commit_loop is not None and self._commit_loop is _running_loop():
            return  # the loop's turn commits it
        if self._held or self._flush_due(_now_ns()):
            self._commit([])

    def _commit_group(self) -> None:
        """The loop's turn after grouped blocks: commit what they appended."""
        self._commit_loop = None
        if not self._closed and not self._depth and (self._held or self._flush_due(_now_ns())):
            self._commit([])

    def _flush_due(self, now: int) -> bool:
        """Whether the buffer is full or its oldest record ``flush_interval_ms`` old."""
        return bool(self._buffer) and (len(self._buffer) >= self.batch_size
                                       or now - self._buffer_since >= self.flush_interval_ns)

    # -- writing ----------------------------------------------------------------------------

    def _commit(self, rows: list[tuple[str, int, int, str | None, str | None, str]]) -> int:
        if self._closed or self.readonly:
            raise ConfigError(f"journal {self.path} is {'closed' if self._closed else 'read-only'}")
        rows = self._buffer + rows
        self._buffer = []
        self._held = False
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cursor = db.executemany(
                "INSERT INTO events (kind, ts_event, ts_written, symbol, order_id, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            del cursor
            last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.stats["commits"] += 1
        self.stats["records"] += len(rows)
        return int(last)

    def append(
        self,
        kind: str,
        ts_event: int,
        data: Mapping[str, object],
        *,
        symbol: str | None = None,
        order_id: object = None,
    ) -> int | None:
        """Append one record; return its ``seq`` once committed (None while buffered).

        The typed methods below are the public way in; this is their common path.
        """
        if kind not in _KIND_SET:
            raise ConfigError(f"unknown journal record kind {kind!r}; kinds: {KINDS}")
        now = _now_ns()
        row = (
            kind,
            int(ts_event),
            now,
            symbol.upper() if symbol else None,
            None if order_id is None else str(order_id),
            _encode(_plain(data)),
        )
        if kind in BATCHED_KINDS or self._depth:
            if not self._buffer:
                self._buffer_since = now
            self._buffer.append(row)
            self._held = self._held or kind not in BATCHED_KINDS
            if not self._depth and self._flush_due(now):  # a block commits when it ends
                self._commit([])
            return None
        return self._commit([row])

    def universe_change(
        self,
        ts_event: int,
        *,
        added: Iterable[str] = (),
        removed: Iterable[str] = (),
        universe: Iterable[str] = (),
        scanner: str = "",
        values: Mapping[str, Mapping[str, object]] | None = None,
        kept: Iterable[str] = (),
    ) -> int | None:
        """Record a new active universe: what was added and removed, the full list, the filter
        values of its members (``values[symbol]``) and the symbols kept only for a position."""
        return self.append("universe", ts_event, {
            "added": sorted(added), "removed": sorted(removed), "universe": list(universe),
            "scanner": scanner, "values": values or {}, "kept": sorted(kept),
        })

    def transition(self, symbol: str, record: object, names: StrategyNames) -> None:
        """Buffer one TRANSITION record with its rule, states and value names resolved."""
        count = int(_field(record, "value_count", 0))  # type: ignore[call-overload]
        value_ids = _field(record, "value_names")
        values = _field(record, "values")
        self.append("transition", int(_field(record, "ts_event")), {  # type: ignore[call-overload]
            "strategy": names.strategy,
            "strategy_id": int(_field(record, "strategy_id", 0)),  # type: ignore[call-overload]
            "rule": names._name(names.rules, int(_field(record, "rule"))),  # type: ignore[call-overload]
            "from_state": names._name(names.states, int(_field(record, "from_state"))),  # type: ignore[call-overload]
            "to_state": names._name(names.states, int(_field(record, "to_state"))),  # type: ignore[call-overload]
            "values": {
                names._name(names.values, int(value_ids[i])): float(values[i])  # type: ignore[index]
                for i in range(count)
            },
        }, symbol=symbol)

    def transitions(self, symbol: str, records: np.ndarray, names: Sequence[StrategyNames]) -> None:
        """Buffer TRANSITION rows; ``names[strategy_id]`` resolves each row."""
        fields = records.dtype.names or ()
        for values in records.tolist():  # plain values in one call (a NumPy row's fields are slow to read)
            record = dict(zip(fields, values))
            self.transition(symbol, record, names[int(record["strategy_id"])])

    def intent(self, symbol: str, record: object, names: StrategyNames | None = None,
               *, intent_id: object = None) -> int | None:
        """Record a TRADE_INTENT (row or mapping with its fields); the rule resolved by ``names``."""
        rule = int(_field(record, "rule", 0))  # type: ignore[call-overload]
        data = {
            "intent_id": intent_id,
            "strategy": names.strategy if names else None,
            "strategy_id": int(_field(record, "strategy_id", 0)),  # type: ignore[call-overload]
            "rule": names._name(names.rules, rule) if names else f"#{rule}",
            "side": _enum_name(schema.Side, _field(record, "side")),
            "order_type": _enum_name(schema.OrderType, _field(record, "order_type", 0)),
            "sizing": _enum_name(schema.Sizing, _field(record, "sizing", 0)),
            "quantity": float(_field(record, "quantity")),  # type: ignore[arg-type]
            "limit_price": float(_field(record, "limit_price", 0.0)),  # type: ignore[arg-type]
            "stop_price": float(_field(record, "stop_price", 0.0)),  # type: ignore[arg-type]
            "reference_price": float(_field(record, "reference_price", 0.0)),  # type: ignore[arg-type]
            "transition": int(_field(record, "transition", 0)),  # type: ignore[call-overload]
        }
        return self.append("intent", int(_field(record, "ts_event")), data, symbol=symbol)  # type: ignore[call-overload]

    def risk_decision(self, ts_event: int, symbol: str, *, accepted: bool, reason: str = "",
                      intent_id: object = None, quantity: float | None = None,
                      details: Mapping[str, object] | None = None) -> int | None:
        """Record the risk manager's verdict on an intent (``quantity``: shares allowed)."""
        return self.append("risk", ts_event, {
            "intent_id": intent_id, "accepted": bool(accepted), "reason": reason,
            "quantity": quantity, "details": details or {},
        }, symbol=symbol)

    def kill_switch(self, ts_event: int, *, tripped: bool, reason: str,
                    details: Mapping[str, object] | None = None) -> int | None:
        """Record the kill switch tripping (``details``: daily PnL, limit, positions to flatten)
        or resetting."""
        return self.append("kill_switch", ts_event, {
            "tripped": bool(tripped), "reason": reason, "details": details or {},
        })

    def order(self, ts_event: int, symbol: str, order_id: object, *, side: object,
              quantity: float, order_type: object = "MARKET", limit_price: float | None = None,
              stop_price: float | None = None, time_in_force: object = "DAY",
              client_order_id: str | None = None, intent_id: object = None,
              details: Mapping[str, object] | None = None) -> int | None:
        """Record an order sent to the broker (committed before this returns)."""
        return self.append("order", ts_event, {
            "side": _enum_name(schema.Side, side),
            "quantity": float(quantity),
            "order_type": _enum_name(schema.OrderType, order_type),
            "limit_price": limit_price, "stop_price": stop_price,
            "time_in_force": _enum_name(schema.TimeInForce, time_in_force),
            "client_order_id": client_order_id, "intent_id": intent_id,
            "details": details or {},
        }, symbol=symbol, order_id=order_id)

    def order_update(self, symbol: str, record: object, *, order_id: object = None,
                     reason: str = "", client_order_id: str | None = None) -> int | None:
        """Record an ORDER_UPDATE (row or mapping); ``status`` an :class:`OrderStatus` or name
        (broker names such as ``"expired"`` are kept as given, upper-cased)."""
        oid = order_id if order_id is not None else _field(record, "order_id")
        reason_code = _field(record, "reason", 0)
        return self.append("order_update", int(_field(record, "ts_event")), {  # type: ignore[call-overload]
            "status": _enum_name(schema.OrderStatus, _field(record, "status")),
            "filled_quantity": float(_field(record, "filled_quantity", 0.0)),  # type: ignore[arg-type]
            "leaves_quantity": float(_field(record, "leaves_quantity", 0.0)),  # type: ignore[arg-type]
            "reason": reason or (str(reason_code) if reason_code else ""),
            **({"client_order_id": client_order_id} if client_order_id else {}),
        }, symbol=symbol, order_id=_plain(oid))

    def fill(self, symbol: str, record: object, *, order_id: object = None,
             fill_id: object = None, reference_price: float | None = None,
             client_order_id: str | None = None) -> int | None:
        """Record one execution (a FILL row or mapping; committed before this returns).

        ``reference_price`` (the price the decision saw) lets analysis measure slippage.
        """
        oid = order_id if order_id is not None else _field(record, "order_id")
        return self.append("fill", int(_field(record, "ts_event")), {  # type: ignore[call-overload]
            "fill_id": _plain(fill_id),
            "side": _enum_name(schema.Side, _field(record, "side")),
            "price": float(_field(record, "price")),  # type: ignore[arg-type]
            "quantity": float(_field(record, "quantity")),  # type: ignore[arg-type]
            "commission": float(_field(record, "commission", 0.0)),  # type: ignore[arg-type]
            "leaves_quantity": float(_field(record, "leaves_quantity", 0.0)),  # type: ignore[arg-type]
            "liquidity": int(_field(record, "liquidity", 0)),  # type: ignore[call-overload]
            "reference_price": reference_price,
            **({"client_order_id": client_order_id} if client_order_id else {}),
        }, symbol=symbol, order_id=_plain(oid))

    def position(self, ts_event: int, symbol: str, *, quantity: float, average_price: float,
                 realized_pnl: float = 0.0) -> int | None:
        """Record a symbol's position after a change (shares, $/share, $)."""
        return self.append("position", ts_event, {
            "quantity": float(quantity), "average_price": float(average_price),
            "realized_pnl": float(realized_pnl),
        }, symbol=symbol)

    def error(self, ts_event: int, message: str, *, symbol: str | None = None,
              where: str = "", error_type: str = "", details: Mapping[str, object] | None = None
              ) -> int | None:
        """Record an error (a quarantined symbol, a rejected request, an exception)."""
        return self.append("error", ts_event, {
            "where": where, "type": error_type, "message": message, "details": details or {},
        }, symbol=symbol)

    def resumed(self, ts_event: int, *, broker: str, details: Mapping[str, object] | None = None
                ) -> int | None:
        """Record that a new process took this run over (``tradecore live --resume``)."""
        return self.append("resumed", ts_event, {"broker": broker, "details": details or {}})

    def reconciliation(self, ts_event: int, action: str, message: str, *,
                       symbol: str | None = None, order_id: object = None,
                       details: Mapping[str, object] | None = None) -> int | None:
        """Record one finding of a resume against the broker (``action`` e.g.
        ``"fill_applied"``, ``"position_corrected"``) in plain words."""
        return self.append("reconciliation", ts_event, {
            "action": action, "message": message, "details": details or {},
        }, symbol=symbol, order_id=order_id)

    def adoption(self, ts_event: int, symbol: str, *, adopted: bool, strategy: str | None, reason: str,
                 details: Mapping[str, object] | None = None) -> int | None:
        """Record whether ``strategy`` took over ``symbol``'s position restored by a resume, and
        why (or why not) in plain words; ``details`` the position and levels it was offered."""
        return self.append("adoption", ts_event, {
            "adopted": bool(adopted), "strategy": strategy, "reason": reason, "details": details or {},
        }, symbol=symbol)

    def feed(self, ts_event: int, symbol: str, *, state: str, since: int, duration_seconds: float,
             reason: str, **details: object) -> int | None:
        """Record a feed-health change of ``symbol`` ("" for the connection): its new ``state``,
        ``since`` (ns UTC, vendor time of the last data before the silence), how long it lasted
        (wall seconds) and why; ``details`` e.g. the backfilled interval."""
        return self.append("feed", ts_event, {
            "state": state, "since": int(since), "duration_seconds": float(duration_seconds),
            "reason": reason, "details": details,
        }, symbol=symbol or None)

    def latency(self, ts_event: int, name: str, nanoseconds: int, *,
                symbol: str | None = None) -> None:
        """Buffer one latency sample (``name`` e.g. ``"tick_to_intent"``, in ns)."""
        self.append("latency", ts_event, {"name": name, "ns": int(nanoseconds)}, symbol=symbol)

    # -- reading ----------------------------------------------------------------------------

    def records(self, kind: str | Iterable[str] | None = None, *, symbol: str | None = None,
                after_seq: int = 0) -> Iterator[Record]:
        """Committed records in ``seq`` order, optionally of some kinds / one symbol."""
        where, params = ["seq > ?"], [after_seq]
        if kind is not None:
            kinds = [kind] if isinstance(kind, str) else list(kind)
            where.append(f"kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)  # type: ignore[arg-type]
        if symbol is not None:
            where.append("symbol = ?")
            params.append(symbol.upper())  # type: ignore[arg-type]
        query = (
            "SELECT seq, kind, ts_event, ts_written, symbol, order_id, data FROM events "
            f"WHERE {' AND '.join(where)} ORDER BY seq"
        )
        for seq, k, ts, written, sym, oid, data in self._db.execute(query, params):
            yield Record(seq, k, ts, written, sym, oid, json.loads(data))

    def last_seq(self) -> int:
        """The ``seq`` of the last committed record (0 if none)."""
        return int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    def count(self, kind: str | None = None) -> int:
        """How many committed records (of one kind)."""
        if kind is None:
            return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM events WHERE kind = ?", (kind,)).fetchone()[0])

    def open_orders(self) -> list[OpenOrder]:
        """Orders with no terminal update (filled, canceled, rejected, expired) and not fully
        filled, as of the last committed record, oldest first.

        Updates and fills reach their order by the client order id they carry (unique per
        intent), else by the order id: the journal's or the broker's own, learnt from the
        order's first update."""
        orders: dict[str, dict[str, Any]] = {}
        by_broker_id: dict[str, dict[str, Any]] = {}
        for record in self.records(("order", "order_update", "fill")):
            oid = record.order_id
            if oid is None:
                continue
            if record.kind == "order":
                orders[oid] = {"record": record, "status": "SUBMITTED", "filled": 0.0,
                               "broker_order_id": None}
                continue
            state = orders.get(record.data.get("client_order_id") or "") \
                or by_broker_id.get(oid) or orders.get(oid)
            if state is None:
                continue  # an update of an order placed before this journal began
            if state["broker_order_id"] is None and oid not in orders:
                state["broker_order_id"] = oid
                by_broker_id[oid] = state
            if record.kind == "fill":
                state["filled"] += record.data["quantity"]
            else:
                state["status"] = record.data["status"]
        found = []
        for oid, state in orders.items():
            record = state["record"]
            data = record.data
            if state["status"] in _TERMINAL or state["filled"] >= data["quantity"] - 1e-9:
                continue
            found.append(OpenOrder(
                order_id=oid, symbol=record.symbol or "", side=data["side"],
                quantity=data["quantity"], filled_quantity=state["filled"],
                status=state["status"], order_type=data["order_type"],
                limit_price=data["limit_price"], stop_price=data["stop_price"],
                time_in_force=data["time_in_force"], client_order_id=data["client_order_id"],
                ts_submit=record.ts_event, details=data["details"],
                broker_order_id=state["broker_order_id"],
            ))
        return found

    def filled_by_order(self) -> dict[str, tuple[float, float]]:
        """Shares and dollar value journaled as filled, per order id of the fills (the
        broker's): what a resume compares with the broker's ``filled_qty`` so nothing is
        counted twice."""
        totals: dict[str, tuple[float, float]] = {}
        for record in self.records("fill"):
            shares, value = totals.get(record.order_id or "", (0.0, 0.0))
            quantity = record.data["quantity"]
            totals[record.order_id or ""] = (shares + quantity, value + quantity * record.data["price"])
        return totals

    def positions(self, *, include_flat: bool = False) -> dict[str, Position]:
        """The last journaled position of each symbol (flat ones only if asked)."""
        last: dict[str, Record] = {}
        for record in self.records("position"):
            last[record.symbol or ""] = record
        return {
            symbol: Position(symbol, r.data["quantity"], r.data["average_price"],
                             r.data["realized_pnl"], r.ts_event, r.seq)
            for symbol, r in last.items()
            if include_flat or r.data["quantity"] != 0
        }

    def net_fills(self) -> dict[str, float]:
        """Net shares bought minus sold per symbol over every journaled fill: what the
        positions must be if no position record was lost (a reconciliation check)."""
        net: dict[str, float] = {}
        for record in self.records("fill"):
            sign = 1.0 if record.data["side"] == "BUY" else -1.0
            symbol = record.symbol or ""
            net[symbol] = net.get(symbol, 0.0) + sign * record.data["quantity"]
        return net

    def fills(self) -> list[Record]:
        """Every committed fill, in order (what :mod:`tradecore.analysis.summary` reads)."""
        return list(self.records("fill"))

    def ts_span(self) -> tuple[int, int] | None:
        """The earliest and latest event time (ns UTC) of the committed records, in one scan;
        None for an empty journal."""
        row = self._db.execute("SELECT MIN(ts_event), MAX(ts_event) FROM events").fetchone()
        return None if row is None or row[0] is None else (int(row[0]), int(row[1]))

    def universe_at(self, ts: int) -> list[str] | None:
        """The universe in force at ``ts`` (ns UTC): the last change with ``ts_event <= ts``."""
        row = self._db.execute(
            "SELECT data FROM events WHERE kind = 'universe' AND ts_event <= ? "
            "ORDER BY ts_event DESC, seq DESC LIMIT 1", (int(ts),)
        ).fetchone()
        return None if row is None else list(json.loads(row[0])["universe"])

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` (``"ok"`` for a sound file)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
