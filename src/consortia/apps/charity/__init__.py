"""Charity tracking: needs, donations, grants and confirmed receipt, each donation's path public."""

from consortia.apps.charity.contract import Charity

__all__ = ["Charity"]
