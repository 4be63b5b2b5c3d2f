"""The embedded market simulator: a market on loopback that speaks the vendors' protocols."""

from tradecore.sim.market import Asset, AssetType, Market, MarketListener

__all__ = ["Asset", "AssetType", "Market", "MarketListener"]
