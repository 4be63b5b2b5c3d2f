"""The embedded market simulator: a market on loopback that speaks the vendors' protocols.

Pieces (each its own module):

- :mod:`tradecore.sim.market`: the :class:`Market` interface everything else reads.
- :mod:`tradecore.sim.generator` and :mod:`tradecore.sim.simulated`: the seeded premarket
  model (quiet names, news-driven gappers, thin books, LULD-style pauses) as
  :class:`SimulatedMarket`.
- :mod:`tradecore.sim.replayed`: recorded or imported data as a market (``--replay``).
- :mod:`tradecore.sim.feed`: the protocol-free feed server and the Alpaca v2 stock stream on it.
- :mod:`tradecore.sim.polygon_feed`: the Polygon/Massive stocks stream on the same server (tests).
- :mod:`tradecore.sim.rest`: snapshots, screeners, history and assets over HTTP (aiohttp).
- :mod:`tradecore.sim.server`: :class:`~tradecore.sim.server.SimServer`, all of it in-process
  (feed on 127.0.0.1:8790 and REST on 8791 by default), with ``extra_routes`` for the
  paper-trading endpoints; ``tradecore sim`` runs it from the command line.
"""

from tradecore.sim.market import Asset, AssetType, Market, MarketListener
from tradecore.sim.simulated import SimulatedMarket

__all__ = ["Asset", "AssetType", "Market", "MarketListener", "SimulatedMarket"]
