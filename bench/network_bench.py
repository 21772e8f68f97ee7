"""End-to-end throughput of a replicated consortium on this machine: 3 NATS JetStream servers
(R3 stream) and one node process per organisation, every node executing every block.

The run itself is ``consortia bench --network 4`` (``consortia.cli.bench_network``); this
module keeps the name ``bench/run.py`` calls.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from consortia.cli.bench_network import run_network_bench


def run(txs: int = 20_000, orgs: int = 4, batch: int = 500, clients: int = 8, **init: Any) -> dict[str, Any]:
    return run_network_bench(txs, orgs, batch, clients, **init)


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)))
