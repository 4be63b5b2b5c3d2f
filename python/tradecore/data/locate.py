"""Find the recorded market data (``shared/data``) that tests and benchmarks read.

The rule, in order, first existing folder wins:

1. ``$TRADECORE_DATA`` when it is set, and nothing else: an explicit setting is never
   second-guessed, so a wrong value shows up as "not found" instead of silently reading
   other data.
2. ``../shared/data`` relative to the current working directory (running from a checkout).
3. ``../shared/data`` relative to the repository root: the one given by the caller (the test
   suite passes its own), else the checkout this module was imported from, if it was imported
   from a source tree rather than an installed package.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "data_root", "data_root_candidates", "lean_root"]

ENV_VAR = "TRADECORE_DATA"
"""Environment variable naming the data folder (the one holding ``PROVENANCE.md``)."""

_RELATIVE = Path("..") / "shared" / "data"


def _source_checkout() -> Path | None:
    """Return the repository root when this module runs from a source tree, else None."""
    root = Path(__file__).resolve().parents[3]  # python/tradecore/data/locate.py
    return root if (root / "pyproject.toml").is_file() else None


def data_root_candidates(repository: str | os.PathLike[str] | None = None) -> list[Path]:
    """Return the folders :func:`data_root` tries, in order.

    Parameters
    ----------
    repository
        Root of a tradecore checkout to try after the working directory; defaults to the
        checkout this module was imported from, if any.

    Returns
    -------
    list of Path
        Only ``$TRADECORE_DATA`` when that is set.
    """
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return [Path(explicit).expanduser()]
    candidates = [Path.cwd() / _RELATIVE]
    checkout = Path(repository) if repository is not None else _source_checkout()
    if checkout is not None:
        candidates.append(checkout / _RELATIVE)
    return [path.resolve() for path in candidates]


def data_root(repository: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the market data folder, or None when none of the candidates exists.

    Parameters
    ----------
    repository
        As in :func:`data_root_candidates`.
    """
    return next((path for path in data_root_candidates(repository) if path.is_dir()), None)


def lean_root(repository: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the LEAN ``Data`` folder (``<data root>/quantconnect-lean/Data``), or None.

    Parameters
    ----------
    repository
        As in :func:`data_root_candidates`.
    """
    root = data_root(repository)
    if root is None:
        return None
    lean = root / "quantconnect-lean" / "Data"
    return lean if lean.is_dir() else None
