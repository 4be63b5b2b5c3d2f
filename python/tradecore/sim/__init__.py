"""The embedded market simulator: a market on loopback that speaks the vendors' protocols."""

from tradecore.sim.market import Asset, AssetType, Market, MarketListener
from tradecore.sim.simulated import SimulatedMarket

__all__ = ["Asset", "AssetType", "Market", "MarketListener", "SimulatedMarket"]
