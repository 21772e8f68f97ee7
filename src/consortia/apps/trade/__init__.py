"""Trade finance: customs declarations attested by customs, financing quota drawn against them by
every bank, and documentary credits from issue to payment."""

from consortia.apps.trade.contract import TradeFinance

__all__ = ["TradeFinance"]
