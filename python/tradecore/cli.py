"""The ``tradecore`` command line."""

from __future__ import annotations

import click

from tradecore._version import __version__

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tradecore")
def main() -> None:
    """tradecore: event-driven trading research and paper trading."""
