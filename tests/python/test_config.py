"""Configuration files are validated with messages that name the problem."""

from pathlib import Path

import pytest
from tradecore.config import Config, load_config
from tradecore.errors import ConfigError


def test_defaults_run_the_simulator_premarket_momentum_on_paper() -> None:
    config = load_config(None)
    assert config.market.provider == "sim"
    assert config.strategy.name == "premarket_momentum"
    assert config.execution.broker == "paper"


def test_a_file_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('[sim]\nspeed = 600\nseed = 3\n[strategy]\nname = "ema_cross"\nparams = {fast = 5, slow = 20}\n')
    config = load_config(path)
    assert config.sim.speed == 600 and config.sim.seed == 3
    assert config.strategy.params == {"fast": 5, "slow": 20}
    assert config.sim.symbols == 300  # untouched defaults stay


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sim]\nsped = 60\n", r"sim\.sped: Extra inputs are not permitted"),
        ("[sim]\nspeed = -1\n", r"sim\.speed: Input should be greater than 0"),
        ('[sim]\nlive_from = "7am"\n', r"sim\.live_from: String should match pattern"),
        ('[strategy]\nname = "martingale"\n', r"strategy\.name"),
        ("[nonsense]\n", r"nonsense: Extra inputs"),
        ("[sim\n", "is not valid TOML"),
    ],
)
def test_bad_files_are_config_errors_that_say_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bogus_param": 1}, r"ema_cross has no parameter bogus_param; it takes fast, quantity, slow"),
        ({"fast": "x"}, r"strategy\.params\.fast: 'x' is not an integer \(ema_cross\)"),
        ({"fast": 30, "slow": 10}, r"fast period must be shorter than slow"),
    ],
)
def test_strategy_params_are_checked_when_the_config_loads(tmp_path: Path, params: dict[str, object],
                                                          message: str) -> None:
    """Not once per symbol after the run started (where each symbol would fail alike)."""
    with pytest.raises(ConfigError, match=message):
        Config().with_overrides(strategy={"name": "ema_cross", "params": params})
    path = tmp_path / "run.toml"
    path.write_text('[strategy]\nname = "premarket_momentum"\nparams = {stop_percent = "a"}\n')
    with pytest.raises(ConfigError, match=r"strategy\.params\.stop_percent: 'a' is not a number"):
        load_config(path)
    # The prior close is the scanner's, per symbol: not required of the config.
    assert Config().with_overrides(strategy={"params": {"stop_percent": 3.0}}).strategy.params == {"stop_percent": 3.0}


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config("/nonexistent/run.toml")


def test_overrides_are_validated() -> None:
    config = Config().with_overrides(sim={"speed": 120.0, "seed": None})
    assert config.sim.speed == 120.0 and config.sim.seed == 7
    with pytest.raises(ConfigError, match="command-line options"):
        Config().with_overrides(sim={"speed": 0})


def test_runs_go_where_tradecore_runs_lists_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No runs_dir in the config: $TRADECORE_RUNS decides, for live/backtest and `tradecore runs` alike."""
    from tradecore.journal.registry import RunRegistry

    monkeypatch.setenv("TRADECORE_RUNS", str(tmp_path / "elsewhere"))
    with RunRegistry(Config().run.runs_dir or None) as registry:
        assert registry.root == tmp_path / "elsewhere"
    with RunRegistry(None) as listing:  # what `tradecore runs` opens
        assert listing.root == tmp_path / "elsewhere"
    explicit = Config().with_overrides(run={"runs_dir": str(tmp_path / "mine")})
    assert Path(explicit.run.runs_dir) == tmp_path / "mine"
