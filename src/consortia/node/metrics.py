"""Prometheus metrics of one node, in a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.height = Gauge("consortia_block_height", "Height of the latest committed block", registry=self.registry)
        self.blocks = Counter("consortia_blocks_committed", "Blocks committed since start", registry=self.registry)
        self.txs = Counter("consortia_transactions_committed", "Transactions committed, by receipt status",
                           ["status"], registry=self.registry)
        self.rejections = Counter("consortia_submissions_rejected", "Submissions refused at admission, by code",
                                  ["code"], registry=self.registry)
        self.pending = Gauge("consortia_mempool_pending", "Transactions waiting to be ordered", registry=self.registry)
        self.final_height = Gauge("consortia_final_height", "Highest block attested by a quorum of organisations",
                                  registry=self.registry)
        self.diverged = Gauge("consortia_diverged", "1 when this node computed a block a quorum disagrees with",
                              registry=self.registry)
        self.commit_latency = Histogram(
            "consortia_commit_latency_seconds", "From admission to the durable commit of a submission's last transaction",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=self.registry)
        self.block_seconds = Histogram(
            "consortia_block_apply_seconds", "Executing and committing one block",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5), registry=self.registry)
