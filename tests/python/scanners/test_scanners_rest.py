"""Scanners on the REST endpoints, served at a loopback server from LEAN coarse files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tradecore.config import ScannerConfig, load_config
from tradecore.errors import ConfigError
from tradecore.journal import Journal
from tradecore.scanners import (
    EnrichmentCache,
    FixedScanner,
    MarketDataClient,
    PremarketScanner,
    RestReferences,
    ScanFilters,
    SnapshotInputs,
    TopGainersScanner,
    build_scanner,
    movers_inputs,
)

TODAY = dt.date(2014, 3, 25)


def expected_gainers(coarse_reader, top: int, min_price: float = 0.0) -> list[str]:  # type: ignore[no-untyped-def]
    """Top gainers computed straight from the two files, independently of the server."""
    prior, today = coarse_reader("20140324"), coarse_reader("20140325")
    joined = today[["close"]].join(prior[["close"]], suffixes=("", "_prior"), how="inner")
    joined["pct"] = joined["close"] / joined["close_prior"] - 1
    joined = joined[joined["close"] >= min_price]
    joined = joined.reset_index().sort_values(["pct", "ticker"], ascending=[False, True])
    return joined["ticker"].head(top).tolist()


@pytest.mark.asyncio
async def test_fixed_scanner_lists_its_symbols_and_journals_the_universe(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        scanner = FixedScanner(["aapl", "MSFT", "aapl"], journal=journal, clock=lambda: 5)
        change = await scanner.update()
        assert scanner.get_active_stock_list() == ["AAPL", "MSFT"]
        assert change.added == ("AAPL", "MSFT") and change.removed == ()
        await scanner.update()
        assert journal.count("universe") == 1  # unchanged universes are not rewritten
        assert journal.universe_at(5) == ["AAPL", "MSFT"]
    with pytest.raises(ConfigError):
        FixedScanner([])


@pytest.mark.asyncio
async def test_top_gainers_from_the_movers_screener(coarse_market: Any,
                                                    coarse_reader) -> None:  # type: ignore[no-untyped-def]
    filters = ScanFilters(min_gap_percent=None, min_price=5.0, max_price=None,
                          exclude_types=frozenset(), max_symbols=10)
    async with MarketDataClient(coarse_market.url) as client:
        scanner = TopGainersScanner(movers_inputs(client), None, filters)
        await scanner.update()
    # The screener gives 50 gainers; those under $5 are filtered client side.
    fifty = set(expected_gainers(coarse_reader, 50))
    expected = [s for s in expected_gainers(coarse_reader, 50, 5.0) if s in fifty][:10]
    assert scanner.get_active_stock_list() == expected
    row = scanner.rows[0]
    prior, today = coarse_reader("20140324"), coarse_reader("20140325")
    assert row.values["price"] == today.loc[row.symbol, "close"]
    assert row.values["volume"] == today.loc[row.symbol, "volume"]  # from the snapshot
    assert row.values["percent_change"] == pytest.approx(
        (today.loc[row.symbol, "close"] / prior.loc[row.symbol, "close"] - 1) * 100)
    assert coarse_market.requests["/v2/assets"] == 0  # no filter reads reference data


@pytest.mark.asyncio
async def test_top_gainers_from_snapshots_of_given_symbols(coarse_market: Any,
                                                           coarse_reader) -> None:  # type: ignore[no-untyped-def]
    symbols = ["AAPL", "MSFT", "IBM", "BAC", "AIG", "GOOG", "FB", "NOPE"]
    filters = ScanFilters(min_gap_percent=None, min_price=None, max_price=None,
                          exclude_types=frozenset(), deny={"FB"}, max_symbols=3)
    async with MarketDataClient(coarse_market.url, chunk=3) as client:
        scanner = TopGainersScanner(movers_inputs(client, symbols), None, filters)
        await scanner.update()
        assert client.stats["requests"] == 3  # 8 symbols in chunks of 3
    prior, today = coarse_reader("20140324"), coarse_reader("20140325")
    known = [s for s in symbols if s in today.index and s in prior.index and s != "FB"]
    change = {s: today.loc[s, "close"] / prior.loc[s, "close"] - 1 for s in known}
    assert scanner.get_active_stock_list() == sorted(known, key=lambda s: -change[s])[:3]
    assert [r.reasons for r in scanner.rows if r.symbol == "FB"] == [("deny",)]


@pytest.mark.asyncio
async def test_top_gainers_honour_every_filter_of_the_configuration(
        coarse_market: Any, coarse_reader) -> None:  # type: ignore[no-untyped-def]
    """The scanner `tradecore live` and `tradecore scan` build from `[scanner]`."""
    movers = expected_gainers(coarse_reader, 50)
    settings = ScannerConfig(kind="top_gainers", filters={
        "min_gap_percent": 2, "max_gap_percent": 40, "min_price": 2, "max_price": 60,
        "min_premarket_volume": 50_000, "min_relative_volume": 0.5, "max_float": 2e9,
        "deny": [movers[0].lower()], "max_symbols": 8})
    async with MarketDataClient(coarse_market.url) as client:
        scanner = build_scanner(settings, client=client)
        assert isinstance(scanner, TopGainersScanner)
        await scanner.update()
    prior, today = coarse_reader("20140324"), coarse_reader("20140325")
    # Independent computation over the screener's 50 gainers.
    expected = []
    for symbol in movers:
        price, volume = today.loc[symbol, "close"], today.loc[symbol, "volume"]
        gap = (price / prior.loc[symbol, "close"] - 1) * 100
        if (symbol != movers[0] and 2 <= price <= 60 and 2 <= gap <= 40 and volume >= 50_000
                and volume / prior.loc[symbol, "volume"] >= 0.5
                and coarse_market.float_shares(today.loc[symbol]) <= 2e9
                and coarse_market.asset_type(symbol) not in ("etf", "warrant", "unit", "right")):
            expected.append((-gap, symbol))
    assert len(expected) >= 3  # the filters leave a universe, and cut some gainers out
    assert scanner.get_active_stock_list() == [s for _, s in sorted(expected)[:8]]
    reasons = {r.symbol: r.reasons for r in scanner.rows}
    assert "deny" in reasons[movers[0]]
    assert {"price", "premarket_volume", "gap"} & {x for r in reasons.values() for x in r}


def test_the_configuration_rejects_unknown_or_contradictory_scan_filters(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text('[scanner]\nkind = "top_gainers"\nfilters = { min_prize = 2 }\n')
    with pytest.raises(ConfigError, match=r"scanner\.filters.*unknown scan filter.*min_prize"):
        load_config(config)
    config.write_text('[scanner]\nfilters = { min_price = 10, max_price = 5 }\n')
    with pytest.raises(ConfigError, match="min_price"):
        load_config(config)
    with pytest.raises(ConfigError, match="needs reference data"):
        TopGainersScanner(SnapshotInputs(MarketDataClient("http://127.0.0.1:9")), None,
                          ScanFilters(max_float=1e6))


def premarket(client: MarketDataClient, filters: ScanFilters, **options):  # type: ignore[no-untyped-def]
    now = [pd.Timestamp("2014-03-25 09:00", tz="America/New_York").value]
    cache = EnrichmentCache(RestReferences(client, today=lambda: TODAY), ttl_seconds=600,
                            clock=lambda: now[0])
    return PremarketScanner(SnapshotInputs(client), cache, filters, **options), cache, now


@pytest.mark.asyncio
async def test_premarket_scan_applies_every_filter_to_the_coarse_market(
        coarse_market: Any, coarse_reader) -> None:  # type: ignore[no-untyped-def]
    filters = ScanFilters(min_gap_percent=0.5, max_gap_percent=50, min_price=2, max_price=60,
                          min_premarket_volume=100_000, min_relative_volume=0.5,
                          max_float=2_000_000_000, deny={"BAC"}, max_symbols=15)
    async with MarketDataClient(coarse_market.url) as client:
        scanner, _, _ = premarket(client, filters)
        await scanner.update()
    prior, today = coarse_reader("20140324"), coarse_reader("20140325")
    # Independent computation over the discovered candidates (100 most active + 50 gainers).
    movers = expected_gainers(coarse_reader, 50)
    active = today.sort_values("volume", ascending=False, kind="stable").head(100).index.tolist()
    expected = []
    for symbol in dict.fromkeys(active + movers):
        if symbol not in prior.index:
            continue
        price, volume = today.loc[symbol, "close"], today.loc[symbol, "volume"]
        gap = (price / prior.loc[symbol, "close"] - 1) * 100
        relative = volume / prior.loc[symbol, "volume"]
        if (symbol != "BAC" and 2 <= price <= 60 and 0.5 <= gap <= 50 and volume >= 100_000
                and relative >= 0.5 and coarse_market.float_shares(today.loc[symbol]) <= 2e9
                and coarse_market.asset_type(symbol) not in ("etf", "warrant", "unit", "right")):
            expected.append((-gap, symbol))
    assert scanner.get_active_stock_list() == [s for _, s in sorted(expected)[:15]]
    assert len(scanner.get_active_stock_list()) == 15
    rows = {r.symbol: r for r in scanner.rows}
    assert "deny" in rows["BAC"].reasons
    assert any("etf" in r.reasons for r in rows.values())  # an ETF (SPY, QQQ, ...) left out
    top = rows[scanner.get_active_stock_list()[0]]
    assert top.values["prior_close"] == prior.loc[top.symbol, "close"]
    assert top.values["asset_type"] == "common" and top.values["float_shares"] is not None


@pytest.mark.asyncio
async def test_enrichment_is_cached_so_a_second_scan_fetches_nothing(
        coarse_market: Any) -> None:
    filters = ScanFilters(min_gap_percent=-100, min_price=1, max_price=1000)
    async with MarketDataClient(coarse_market.url) as client:
        scanner, cache, now = premarket(client, filters)
        await scanner.update()
        first = dict(coarse_market.requests)
        assert first["/v2/assets"] > 20 and first["/v2/stocks/bars"] == 1
        coarse_market.requests.clear()
        await scanner.update()
        # Live inputs are read again; reference data is not fetched at all.
        assert coarse_market.requests["/v2/assets"] == 0
        assert coarse_market.requests["/v2/stocks/bars"] == 0
        assert coarse_market.requests["/v2/stocks/snapshots"] == 1
        assert cache.stats["fetches"] == 1
        now[0] += 601 * 10**9  # past the expiry: fetched again, once
        coarse_market.requests.clear()
        await scanner.update()
        assert coarse_market.requests["/v2/assets"] == first["/v2/assets"]
        assert cache.stats["fetches"] == 2


@pytest.mark.asyncio
async def test_halted_symbols_are_excluded_and_positions_are_kept(
        coarse_market: Any) -> None:
    filters = ScanFilters(min_gap_percent=-100, min_price=1, max_price=1000, max_symbols=5)
    async with MarketDataClient(coarse_market.url) as client:
        holding = set()
        scanner, _, _ = premarket(client, filters, keep=lambda s: s in holding)
        first = (await scanner.update()).universe
        held = first[0]
        holding.add(held)
        scanner.filters = ScanFilters(min_gap_percent=-100, min_price=1, max_price=1000,
                                      max_symbols=5, deny={held, first[1]})
        change = await scanner.update()
    assert held in change.universe and held in change.kept
    assert first[1] in change.removed and held not in change.removed
    assert change.universe[-1] == held  # kept symbols follow the ranked ones


@pytest.mark.asyncio
async def test_snapshot_halt_flag_excludes(coarse_market: Any) -> None:
    from tradecore.scanners.inputs import Candidate, MarketInputs

    class Halted(MarketInputs):
        async def candidates(self) -> list[Candidate]:
            return [Candidate("AAPL", 10.0, 9.0, 1e6, halted=True),
                    Candidate("MSFT", 10.0, 9.0, 1e6)]

    async with MarketDataClient(coarse_market.url) as client:
        cache = EnrichmentCache(RestReferences(client, today=lambda: TODAY))
        scanner = PremarketScanner(Halted(), cache, ScanFilters())
        await scanner.update()
    assert scanner.get_active_stock_list() == ["MSFT"]
    assert {r.symbol: r.reasons for r in scanner.rows}["AAPL"] == ("halted",)
    assert cache.stats["fetched"] == 1  # the halted symbol was never enriched


def test_scan_filters_are_immutable_and_reject_unknown_fields() -> None:
    filters = ScanFilters.from_mapping({"min_price": 2, "deny": ["abc"],
                                        "exclude_types": ["ETF"]})
    assert filters.deny == frozenset({"ABC"}) and filters.exclude_types == frozenset({"etf"})
    with pytest.raises(AttributeError):
        filters.min_price = 3  # type: ignore[misc]
    with pytest.raises(ConfigError, match="unknown scan filter"):
        ScanFilters.from_mapping({"min_prize": 2})
    with pytest.raises(ConfigError):
        ScanFilters(min_price=10, max_price=5)
    with pytest.raises(ConfigError):
        ScanFilters(exclude_types=frozenset({"bond"}))
    with pytest.raises(TypeError):
        ScanFilters(5.0)  # type: ignore[misc]


@pytest.mark.asyncio
async def test_a_damaged_number_fails_the_filter_that_reads_it_with_its_reason(
        coarse_market: Any) -> None:
    filters = ScanFilters(min_gap_percent=-100, min_price=1, max_price=1000,
                          min_relative_volume=0.01, max_float=1e12, max_symbols=50)
    async with MarketDataClient(coarse_market.url) as client:
        clean, _, _ = premarket(client, filters)
        await clean.update()
        victims = clean.get_active_stock_list()[:6]
        damages = [("price", float("nan"), "price:nan"),
                   ("volume", -5.0, "volume:negative"),
                   ("prior_close", float("inf"), "prior_close:inf"),
                   ("prior_close", float("nan"), "prior_close:nan"),
                   ("float_shares", float("nan"), "float_shares:nan"),
                   ("history_volume", float("nan"), "relative_volume:nan")]
        for symbol, (name, value, _) in zip(victims, damages, strict=True):
            coarse_market.damage[symbol] = {name: value}
        scanner, _, _ = premarket(client, filters)
        await scanner.update()
    rows = {r.symbol: r for r in scanner.rows}
    for symbol, (_, _, reason) in zip(victims, damages, strict=True):
        assert not rows[symbol].passed and rows[symbol].reasons == (reason,), symbol
    # The others are judged as before: the next in rank take the victims' places.
    passing = [r.symbol for r in clean.rows if r.passed or r.reasons == ("rank",)]
    assert scanner.get_active_stock_list() == [s for s in passing if s not in victims][:50]


@pytest.mark.asyncio
async def test_a_damaged_number_fails_the_top_gainers_too(coarse_market: Any) -> None:
    filters = ScanFilters(min_gap_percent=None, min_price=None, max_price=None,
                          exclude_types=frozenset(), max_symbols=5)
    async with MarketDataClient(coarse_market.url) as client:
        top = (await TopGainersScanner(movers_inputs(client), None, filters).update()).universe
        coarse_market.damage[top[0]] = {"price": float("inf")}
        scanner = TopGainersScanner(movers_inputs(client), None, filters)
        await scanner.update()
    assert top[0] not in scanner.get_active_stock_list()
    assert {r.symbol: r.reasons for r in scanner.rows}[top[0]] == ("price:inf",)
