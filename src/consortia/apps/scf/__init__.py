"""Supply chain finance: receivable vouchers that split down the supplier tiers and get financed."""

from consortia.apps.scf.contract import SupplyChainFinance

__all__ = ["SupplyChainFinance"]
