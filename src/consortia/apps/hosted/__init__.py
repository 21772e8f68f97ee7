"""Hosted members: SMEs that act in their own name on the chain without a node of their own."""

from consortia.apps.hosted.contract import HostedMembers

__all__ = ["HostedMembers"]
