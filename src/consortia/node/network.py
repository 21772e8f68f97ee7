"""A whole consortium on one machine: a NATS JetStream cluster and one node per organisation,
each a separate process with its own data directory and API port.

    <home>/genesis.json, orgs/...        the consortium (as ``consortia init`` makes it)
    <home>/network.json                  ports and process ids
    <home>/nats/<name>/nats.conf, data/  one JetStream server each
    <home>/nodes/<org>/chain.db          one node per organisation; its log is node.log

The same layout, spread over machines, is how a real deployment runs (see README).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from consortia.errors import Conflict, Fault, NotFound, Unavailable
from consortia.node.home import init_consortium, load_genesis

NATS_BINARY = "nats-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as gone
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


@dataclass
class NatsServer:
    name: str
    client_port: int
    cluster_port: int
    pid: int = 0

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"


@dataclass
class NodeProcess:
    org: str
    port: int
    pid: int = 0
    netns: str = ""  # run inside this network namespace (tests of partitions), reached at ``address``
    address: str = "127.0.0.1"
    scheme: str = "http"  # https on a network made with TLS

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}:{self.port}"


@dataclass
class NetworkState:
    servers: list[NatsServer] = field(default_factory=list)
    nodes: list[NodeProcess] = field(default_factory=list)
    bind: str = "127.0.0.1"  # 0.0.0.0 once a node lives in its own namespace
    tls: bool = False  # NATS with verified client certificates, the API over HTTPS (ADR 0027)

    def to_dict(self) -> dict[str, Any]:
        return {"servers": [asdict(s) for s in self.servers], "nodes": [asdict(n) for n in self.nodes],
                "bind": self.bind, "tls": self.tls}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkState:
        return cls([NatsServer(**s) for s in data["servers"]], [NodeProcess(**n) for n in data["nodes"]],
                   data.get("bind", "127.0.0.1"), data.get("tls", False))


class LocalNetwork:
    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.state_path = self.home / "network.json"
        self.state = (NetworkState.from_dict(json.loads(self.state_path.read_text()))
                      if self.state_path.exists() else NetworkState())
        self.node_env: dict[str, dict[str, str]] = {}  # extra environment per organisation's node process

    # -- setup ---------------------------------------------------------------------------

    def create(self, orgs: int = 4, servers: int = 3, *, tls: bool = False, **init: Any) -> None:
        """Create the consortium (unless it exists) and assign ports to servers and nodes; with
        ``tls``, every organisation's TLS CA and certificates too (``tls/``, ADR 0027)."""
        if shutil.which(NATS_BINARY) is None:
            raise NotFound("nats-server is not installed (Debian: apt-get install nats-server)", code="NO_NATS")
        if not (self.home / "genesis.json").exists():
            init_consortium(self.home, orgs=orgs, **init)
        genesis = load_genesis(self.home)
        if not self.state.servers:
            self.state.servers = [NatsServer(f"n{i + 1}", free_port(), free_port()) for i in range(servers)]
        if not self.state.nodes:
            self.state.nodes = [NodeProcess(o["id"], free_port(), scheme="https" if tls else "http")
                                for o in genesis["orgs"]]
            self.state.tls = tls
        if self.state.tls:
            from consortia.node.tls import ensure_network_tls

            ensure_network_tls(self.home, [n.org for n in self.state.nodes], [s.name for s in self.state.servers])
        self.save()

    def save(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.state_path.write_text(json.dumps(self.state.to_dict(), indent=2) + "\n")

    @property
    def nats_urls(self) -> list[str]:
        return [s.url.replace("nats://", "tls://") if self.state.tls else s.url for s in self.state.servers]

    @property
    def tls_dir(self) -> Path:
        return self.home / "tls"

    def verify(self) -> ssl.SSLContext | bool:
        """What an HTTP client of this network's nodes trusts: the organisations' TLS CAs."""
        return ssl.create_default_context(cafile=str(self.tls_dir / "cas.pem")) if self.state.tls else True

    def _tls_block(self, cert: Path, key: Path) -> str:
        return (f"tls {{\n  cert_file: \"{cert}\"\n  key_file: \"{key}\"\n"
                f"  ca_file: \"{self.tls_dir / 'cas.pem'}\"\n  verify: true\n  timeout: 5\n}}\n")

    def server(self, name: str) -> NatsServer:
        for s in self.state.servers:
            if s.name == name:
                return s
        raise NotFound(f"no NATS server {name!r}", code="NO_SUCH_SERVER")

    def node(self, org: str) -> NodeProcess:
        for n in self.state.nodes:
            if n.org == org:
                return n
        raise NotFound(f"no node for {org!r}", code="NO_SUCH_NODE")

    # -- NATS servers --------------------------------------------------------------------

    def _nats_config(self, server: NatsServer) -> Path:
        folder = self.home / "nats" / server.name
        (folder / "data").mkdir(parents=True, exist_ok=True)
        routes = ", ".join(f"nats-route://127.0.0.1:{s.cluster_port}" for s in self.state.servers)
        config = folder / "nats.conf"
        tls = ""
        if self.state.tls:  # clients and routes alike must present a certificate from an organisation's CA
            tls = self._tls_block(self.tls_dir / "servers" / f"{server.name}.pem",
                                  self.tls_dir / "servers" / f"{server.name}.key")
        config.write_text(
            f"server_name: {server.name}\n"
            f"listen: {self.state.bind}:{server.client_port}\n"
            "max_payload: 8MB\n"  # room for a transaction of the chain's max_tx_bytes (1 MiB by default)
            + tls + f"jetstream {{ store_dir: \"{folder / 'data'}\" }}\n"
            f"cluster {{\n  name: consortia\n  listen: 127.0.0.1:{server.cluster_port}\n  routes: [{routes}]\n"
            + textwrap.indent(tls, "  ") + "}\n")
        return config

    def start_server(self, name: str) -> None:
        server = self.server(name)
        if pid_alive(server.pid):
            return
        config = self._nats_config(server)
        with open(config.parent / "nats.log", "ab") as logfile:
            process = subprocess.Popen([NATS_BINARY, "-c", str(config)], stdout=logfile, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        server.pid = process.pid
        self.save()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", server.client_port)) == 0:
                    return
            if process.poll() is not None:
                raise Fault(f"nats-server {name} exited: {(config.parent / 'nats.log').read_text()[-1500:]}")
            time.sleep(0.1)
        raise Fault(f"nats-server {name} did not open its port")

    def stop_server(self, name: str, sig: int = signal.SIGTERM) -> None:
        server = self.server(name)
        _signal_and_wait(server.pid, sig)
        server.pid = 0
        self.save()

    # -- nodes ---------------------------------------------------------------------------

    def start_node(self, org: str, *, wait: bool = True) -> None:
        node = self.node(org)
        if pid_alive(node.pid):
            return
        data = self.home / "nodes" / org
        data.mkdir(parents=True, exist_ok=True)
        nats_urls, peers, prefix, host = self.nats_urls, [n.url for n in self.state.nodes if n.org != org], [], "127.0.0.1"
        if node.netns:  # inside its namespace the host is the veth gateway, not loopback
            gateway = _gateway(node.address)
            nats_urls = [u.replace("127.0.0.1", gateway) for u in nats_urls]
            peers = [u.replace("127.0.0.1", gateway) for u in peers]
            prefix, host = ["ip", "netns", "exec", node.netns], "0.0.0.0"
        elif self.state.bind != "127.0.0.1":
            host = self.state.bind
        tls: list[str] = []
        if self.state.tls:
            own = self.tls_dir / org
            tls = ["--tls-cert", str(own / "node.pem"), "--tls-key", str(own / "node.key"),
                   "--tls-ca", str(self.tls_dir / "cas.pem")]
        with open(data / "node.log", "ab") as logfile:
            process = subprocess.Popen(
                [*prefix, sys.executable, "-m", "consortia.cli.main", "up", "--dir", str(self.home), "--data", str(data),
                 "--org", org, "--nats", ",".join(nats_urls), "--port", str(node.port), "--host", host,
                 "--log-level", "warning", "--peers", ",".join(peers), *tls],
                stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, **self.node_env.get(org, {})})
        node.pid = process.pid
        self.save()
        if wait:
            self.wait_healthy(org, process)

    def wait_healthy(self, org: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
        node = self.node(org)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(node.url + "/health", timeout=2, verify=self.verify()).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if process is not None and process.poll() is not None:
                log = (self.home / "nodes" / org / "node.log").read_text()[-2000:]
                raise Fault(f"node {org} exited at start: {log}")
            time.sleep(0.2)
        raise Unavailable(f"node {org} did not become healthy within {timeout:.0f} s", code="NODE_NOT_HEALTHY")

    def stop_node(self, org: str, sig: int = signal.SIGTERM) -> None:
        node = self.node(org)
        _signal_and_wait(node.pid, sig)
        node.pid = 0
        self.save()

    # -- the whole network ---------------------------------------------------------------

    def up(self) -> None:
        if not self.state.servers:
            raise Conflict("create the network first", code="NOT_INITIALISED")
        for server in self.state.servers:
            self.start_server(server.name)
        for node in self.state.nodes:
            self.start_node(node.org, wait=False)
        for node in self.state.nodes:
            self.wait_healthy(node.org)

    def down(self) -> None:
        for node in self.state.nodes:
            self.stop_node(node.org)
        for server in self.state.servers:
            self.stop_server(server.name)

    def status(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for node in self.state.nodes:
            row: dict[str, Any] = {"org": node.org, "url": node.url, "running": pid_alive(node.pid)}
            try:
                health = httpx.get(node.url + "/health", timeout=2, verify=self.verify()).json()
                row.update(status=health.get("status"), height=health.get("height"),
                           final_height=health.get("final_height"), attested_by=health.get("attested_by"),
                           pending=health.get("pending"), diverged=health.get("diverged"))
            except (httpx.TransportError, ValueError):
                row.update(status="unreachable")
            rows.append(row)
        top = max((r.get("height") or 0 for r in rows), default=0)
        for r in rows:
            r["lag"] = top - r["height"] if isinstance(r.get("height"), int) else None
        for server in self.state.servers:
            url = server.url.replace("nats://", "tls://") if self.state.tls else server.url
            rows.append({"server": server.name, "url": url, "running": pid_alive(server.pid)})
        return rows


# -- partitions (Linux network namespaces; needs root and iproute2) -------------------------

def _gateway(address: str) -> str:
    return address.rsplit(".", 1)[0] + ".1"


def isolate(net: LocalNetwork, org: str, subnet: int) -> None:
    """Move ``org``'s node into its own network namespace, joined to the host by a veth pair
    (host 10.77.<subnet>.1, node 10.77.<subnet>.2). Call before the node starts."""
    name = f"cx{subnet}"
    _ip("netns", "add", name)
    _ip("link", "add", f"{name}h", "type", "veth", "peer", "name", f"{name}n")
    _ip("link", "set", f"{name}n", "netns", name)
    _ip("addr", "add", f"10.77.{subnet}.1/24", "dev", f"{name}h")
    _ip("link", "set", f"{name}h", "up")
    _ip("-n", name, "addr", "add", f"10.77.{subnet}.2/24", "dev", f"{name}n")
    _ip("-n", name, "link", "set", f"{name}n", "up")
    _ip("-n", name, "link", "set", "lo", "up")
    node = net.node(org)
    node.netns, node.address = name, f"10.77.{subnet}.2"
    net.state.bind = "0.0.0.0"
    net.save()


def partition(net: LocalNetwork, org: str, cut: bool) -> None:
    """Cut (or heal) the link between ``org``'s namespace and everyone else."""
    _ip("link", "set", f"{net.node(org).netns}h", "down" if cut else "up")


def remove_namespace(net: LocalNetwork, org: str) -> None:
    name = net.node(org).netns
    if name:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise Fault(f"ip {' '.join(args)}: {result.stderr.strip()}", code="NETNS_FAILED")


def _signal_and_wait(pid: int, sig: int, timeout: float = 30) -> None:
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        while pid_alive(pid):
            time.sleep(0.05)
