"""Logistics waybills: consignment notes confirmed step by step, and a carrier's receivable once delivered."""

from consortia.apps.waybill.contract import Waybills

__all__ = ["Waybills"]
