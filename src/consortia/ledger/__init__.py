"""Transactions, blocks, receipts, the block store and the world state."""
