"""``tradecore scan`` against the loopback coarse market, as a real subprocess."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest


async def run_cli(*args: str) -> tuple[int, str, str]:
    code = "import sys; from tradecore.cli import main; sys.exit(main())"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.asyncio
async def test_scan_prints_the_universe_with_its_filter_values(coarse_market: Any) -> None:
    code, out, err = await run_cli("scan", "--url", coarse_market.url, "--min-gap", "0.5",
                                   "--max-price", "60", "--top", "5", "--all")
    assert code == 0, err
    lines = out.splitlines()
    assert "5 active of" in lines[0]
    assert lines[1].split()[:4] == ["symbol", "price", "prior_close", "gap_percent"]
    assert sum(line.endswith("active") for line in lines[2:]) == 5
    assert any("out: etf" in line for line in lines)  # --all shows why symbols are out


@pytest.mark.asyncio
async def test_scan_repeats_with_every_and_count(coarse_market: Any) -> None:
    code, out, err = await run_cli("scan", "--scanner", "top_gainers", "--url", coarse_market.url,
                                   "--top", "3", "--min-price", "5", "--max-price", "1000",
                                   "--every", "0.05", "--count", "2")
    assert code == 0, err
    headers = [line for line in out.splitlines() if "active of" in line]
    assert len(headers) == 2 and all("3 active of" in h for h in headers)
    assert coarse_market.requests["/v1beta1/screener/stocks/movers"] == 2


@pytest.mark.asyncio
async def test_scan_reports_an_unreachable_server() -> None:
    code, _, err = await run_cli("scan", "--url", "http://127.0.0.1:9", "--symbols", "AAPL")
    assert code != 0 and "Error" in err


@pytest.mark.asyncio
async def test_scan_top_gainers_apply_the_same_filters_as_the_premarket_scan(
        coarse_market: Any) -> None:
    first = await run_cli("scan", "--scanner", "top_gainers", "--url", coarse_market.url,
                          "--min-gap", "0", "--max-price", "1000", "--top", "5")
    assert first[0] == 0, first[2]
    top = first[1].splitlines()[2].split()[0]
    code, out, err = await run_cli("scan", "--scanner", "top_gainers", "--url", coarse_market.url,
                                   "--min-gap", "0", "--max-price", "1000", "--top", "5",
                                   "--deny", top, "--min-volume", "1000000", "--all")
    assert code == 0, err
    lines = out.splitlines()
    header = lines[1].split()
    active = [line.split() for line in lines[2:] if line.endswith("active")]
    assert len(active) == 5 and top not in [row[0] for row in active]
    volume = header.index("volume")
    assert all(row[volume].endswith("M") for row in active)  # at least 1,000,000 shares
    assert any(line.startswith(top) and "out: deny" in line for line in lines)
    assert any("out: premarket_volume" in line for line in lines)


@pytest.mark.asyncio
async def test_scan_reports_a_symbol_whose_price_is_nan(coarse_market: Any) -> None:
    args = ("scan", "--url", coarse_market.url, "--min-gap", "0.5", "--max-price", "60",
            "--top", "5", "--all")
    code, out, err = await run_cli(*args)
    assert code == 0, err
    top = out.splitlines()[2].split()[0]
    coarse_market.damage[top] = {"price": float("nan")}
    code, out, err = await run_cli(*args)
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.split()[0] == top)
    assert line.split()[1] == "nan" and line.endswith("out: price:nan")
    assert "5 active of" in out.splitlines()[0]  # the next symbol took its place


@pytest.mark.asyncio
async def test_the_top_gainers_scanner_has_one_name_in_every_command() -> None:
    from tradecore.config import SCANNER_KINDS, ScannerConfig

    assert ScannerConfig(kind="top_gainers").kind == "top_gainers"
    for command in ("scan", "backtest"):
        code, out, err = await run_cli(command, "--help")
        assert code == 0, err
        assert "[fixed|premarket|top_gainers]" in out.replace("\n", " ").replace(" ", ""), out
        assert "gainers" not in out.replace("top_gainers", ""), out  # no other spelling in the help
    assert SCANNER_KINDS == ("fixed", "premarket", "top_gainers")
    code, _, err = await run_cli("scan", "--scanner", "gainers", "--url", "http://127.0.0.1:9")
    assert code == 2 and "'gainers' is not one of 'fixed', 'premarket', 'top_gainers'" in err, err


def test_allow_type_offers_exactly_the_types_scans_exclude_by_default() -> None:
    from tradecore.cli_runs import _EXCLUDED_TYPES
    from tradecore.scanners.filters import ScanFilters

    assert set(_EXCLUDED_TYPES) == ScanFilters().exclude_types
