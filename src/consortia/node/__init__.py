"""The composition root: the only package that wires everything together."""

from consortia.node.node import Node, default_contracts

__all__ = ["Node", "default_contracts"]
