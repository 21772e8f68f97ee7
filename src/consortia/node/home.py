"""A local consortium directory: each organisation's CA, its members, and the genesis.

    <home>/genesis.json
    <home>/orgs/<org>/ca.pem, ca.key
    <home>/orgs/<org>/members/<name>/cert.pem, key.pem
    <home>/orgs/<org>/sealing-key.pem  (opens event payloads sealed to the organisation, ADR 0013)
    <home>/node/chain.db          (the embedded node's data)
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from consortia.crypto.suite import CryptoSuite, KeyUnwrapper, get_suite
from consortia.errors import BadInput, Conflict, NotFound
from consortia.execution.genesis import check_genesis
from consortia.identity.wallet import check_private, save_member, write_secret
from consortia.identity.x509 import ROLES, cert_pem, check_member_name, create_ca, issue_member, load_pem
from consortia.types import codec

# The first four make the default consortium; the demo adds two more supplier tiers and a
# second funder. Unified social credit codes are made up (valid check characters, no real firm).
DEMO_ORGS: list[dict[str, str]] = [
    {"id": "hongqiao-auto", "name": "Hongqiao Automotive Group Co., Ltd.", "kind": "core",
     "uscc": "91310000MA1HQ2026X"},
    {"id": "jinglian-parts", "name": "Suzhou Jinglian Precision Parts Co., Ltd.", "kind": "supplier",
     "uscc": "91320500MA1JL0417R"},
    {"id": "pudong-bank", "name": "Pudong Commercial Bank", "kind": "funder", "uscc": "91310000PDB000007M"},
    {"id": "sh-regulator", "name": "Shanghai Financial Regulatory Office", "kind": "regulator",
     "uscc": "11310000MB2F00001F"},
    {"id": "hengtai-castings", "name": "Wuxi Hengtai Precision Castings Co., Ltd.", "kind": "supplier",
     "uscc": "91320200MA1HT0088R"},
    {"id": "ruifeng-fasteners", "name": "Changzhou Ruifeng Fasteners Co., Ltd.", "kind": "supplier",
     "uscc": "92320400MA1RF0123G"},
    {"id": "zheshang-factoring", "name": "Zhejiang Merchants Commercial Factoring Co., Ltd.", "kind": "funder",
     "uscc": "91330100MA2CF0316G"},
]
# The traceability demo (a pork chain, farm to shelf) adds a pig farm, a meat processor that runs
# its own cold chain, and a supermarket. They follow DEMO_ORGS in the demo consortium but are kept
# apart so that code unpacking the seven supply-chain-finance organisations keeps working.
TRACE_DEMO_ORGS: list[dict[str, str]] = [
    {"id": "green-valley-farm", "name": "Ganzhou Green Valley Pig Farm Co., Ltd.", "kind": "member",
     "uscc": "91360700MA3GF2026T"},
    {"id": "lianhe-foods", "name": "Jiangxi Lianhe Meat Processing & Cold Chain Co., Ltd.", "kind": "member",
     "uscc": "91360100MA3LH0318D"},
    {"id": "huaxin-mart", "name": "Shanghai Huaxin Supermarket Co., Ltd.", "kind": "member",
     "uscc": "91310000MA1HX05200"},
]
# The other built-in apps (e-invoices, trade finance, waybills, charity) and the authorities that
# hold a privileged seat in them (kind set at genesis or by vote, like the regulator). An app that
# needs another party adds it here, in its own block, so earlier indexes never move.
APP_DEMO_ORGS: list[dict[str, str]] = [
    {"id": "sz-tax", "name": "Shenzhen Municipal Tax Service, STA", "kind": "tax_authority",
     "uscc": "11440300MB2TX0007H"},
    {"id": "sh-customs", "name": "Shanghai Customs District", "kind": "customs", "uscc": "11310000MB2CU0002U"},
    {"id": "haixin-bank", "name": "Ningbo Haixin Bank Co., Ltd.", "kind": "funder", "uscc": "91330200MA2XT0315K"},
    {"id": "huafeng-logistics", "name": "Shanghai Huafeng Cold Chain Logistics Co., Ltd.", "kind": "member",
     "uscc": "91310000MA1HF0627Y"},
    {"id": "yida-express", "name": "Shenzhen Yida Express Co., Ltd.", "kind": "member", "uscc": "91440300MA5HD0721X"},
    {"id": "chunhui-foundation", "name": "Beijing Chunhui Children's Foundation", "kind": "member",
     "uscc": "53110000MJ0CF0012A"},
    {"id": "civil-affairs", "name": "Beijing Municipal Civil Affairs Bureau", "kind": "civil_affairs",
     "uscc": "11110000MB1MC0003E"},
    # Trade finance: an importer and the bank that issues its documentary credits; and a platform
    # that hosts SMEs without a node of their own as members acting in their own name.
    {"id": "huanyu-trading", "name": "Shanghai Huanyu Import & Export Co., Ltd.", "kind": "member",
     "uscc": "91310000MA1HY06185"},
    {"id": "huitong-bank", "name": "Shanghai Huitong Bank Co., Ltd.", "kind": "funder", "uscc": "91310000MA1HT0902K"},
    {"id": "yunlian-platform", "name": "Hangzhou Yunlian SME Supply Chain Services Co., Ltd.", "kind": "member",
     "uscc": "91330100MA2YL0520F"},
    # Waybills (issue 17): Huaxin Mart's parent, a core enterprise that pays its stores' inbound freight.
    {"id": "huaxin-group", "name": "Shanghai Huaxin Commercial Group Co., Ltd.", "kind": "core",
     "uscc": "91310000MA1HX0601N"},
]
DEMO_ORGS_ALL = DEMO_ORGS + TRACE_DEMO_ORGS
DEMO_ORG_COUNT = len(DEMO_ORGS)  # what `consortia up --init` creates today
# With the traceability demo (seed_trace_demo): ten organisations. Note that the demo's
# governance votes (node/demo.py) need six approvals, not four, for a majority of ten.
DEMO_ORG_COUNT_WITH_TRACE = len(DEMO_ORGS_ALL)
# Every app's parties: what `consortia up --init` (make demo) creates.
DEMO_ORGS_FULL = DEMO_ORGS_ALL + APP_DEMO_ORGS
DEMO_ORG_COUNT_FULL = len(DEMO_ORGS_FULL)
DEFAULT_MEMBERS: list[tuple[str, list[str]]] = [("admin", ["admin", "client"]), ("clerk", ["client"]),
                                               ("node", ["node"])]


def org_plan(count: int) -> list[dict[str, str]]:
    if count < 1:
        raise BadInput("a consortium needs at least one organisation", code="BAD_ARGS")
    extra = [{"id": f"org{i}", "name": f"Member Organisation {i}", "kind": "member"}
             for i in range(len(DEMO_ORGS_FULL) + 1, count + 1)]
    return (DEMO_ORGS_FULL + extra)[:count]


def init_consortium(home: Path, *, orgs: int = 4, chain_id: str = "consortia-local", suite_name: str = "ed25519-sha256",
                    config: dict[str, Any] | None = None, sandbox: bool = False,
                    org_plans: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Create CAs, member certificates and the genesis document under ``home``.

    ``sandbox`` makes a test chain whose id starts with ``sandbox-`` (and only a sandbox's does);
    ``org_plans`` names the organisations (``{id, name, kind}``) instead of the demo's first ``orgs``."""
    if sandbox and not chain_id.startswith("sandbox-"):
        chain_id = f"sandbox-{chain_id}"
    home = Path(home)
    if (home / "genesis.json").exists():
        raise Conflict(f"{home} already holds a consortium (genesis.json exists)", code="ALREADY_INITIALISED")
    suite = get_suite(suite_name)
    now = int(time.time() * 1000)
    org_records = []
    for plan in (org_plans if org_plans is not None else org_plan(orgs)):
        org_dir = home / "orgs" / plan["id"]
        org_dir.mkdir(parents=True, exist_ok=True)
        ca_signer = suite.generate_signer()
        ca = create_ca(ca_signer, plan["id"], plan["name"], now)
        write_secret(org_dir / "ca.key", ca_signer.private_key_pem())
        (org_dir / "ca.pem").write_text(cert_pem(ca))
        members = DEFAULT_MEMBERS + ([("inspector", ["auditor", "client"])] if plan["kind"] == "regulator" else [])
        for name, roles in members:
            signer = suite.generate_signer()
            save_member(home, plan["id"], name, signer, issue_member(ca_signer, ca, name, roles, signer.public_key, now))
        create_sealing_key(home, suite, plan["id"])
        org_records.append({**plan, "ca_cert": cert_pem(ca)})
    genesis = check_genesis({"chain_id": chain_id, "suite": suite.name, "time_ms": now, "orgs": org_records,
                             "config": config or {}, "sandbox": sandbox})
    (home / "genesis.json").write_text(json.dumps(genesis, indent=2, ensure_ascii=False) + "\n")
    return genesis


def load_genesis(home: Path) -> dict[str, Any]:
    path = Path(home) / "genesis.json"
    if not path.exists():
        raise NotFound(f"no consortium at {home} (missing genesis.json); run `consortia init` first",
                       code="NOT_INITIALISED")
    return check_genesis(codec.decode(path.read_bytes()))


def sealing_key_path(home: Path, org: str) -> Path:
    return Path(home) / "orgs" / org / "sealing-key.pem"


def create_sealing_key(home: Path, suite: CryptoSuite, org: str) -> KeyUnwrapper:
    """The organisation's key pair for sealed payloads: loaded if it exists, else made (mode 0600).
    Losing it loses every payload sealed to the organisation: back it up with the CA key."""
    existing = load_sealing_key(home, suite, org)
    if existing is not None:
        return existing
    key = suite.generate_unwrapper()
    path = sealing_key_path(home, org)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_secret(path, key.private_key_pem())
    return key


def load_sealing_key(home: Path, suite: CryptoSuite, org: str) -> KeyUnwrapper | None:
    path = sealing_key_path(home, org)
    if not path.exists():
        return None
    check_private(path)
    return suite.load_unwrapper(path.read_bytes())


def create_member(home: Path, suite: CryptoSuite, org: str, name: str, roles: list[str]) -> Path:
    """Issue a new member certificate with the organisation's CA kept in ``home``."""
    org_dir = Path(home) / "orgs" / org
    if not (org_dir / "ca.key").exists():
        raise NotFound(f"no CA key for organisation {org!r} under {home}", code="ORG_NOT_FOUND")
    check_member_name(name)
    if (org_dir / "members" / name / "key.pem").exists():
        raise Conflict(f"identity {org}/{name} already exists", code="IDENTITY_EXISTS")
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise BadInput(f"roles must be a non-empty subset of {ROLES}, got {roles}", code="BAD_ROLE")
    ca_signer = suite.load_signer((org_dir / "ca.key").read_bytes())
    ca = load_pem((org_dir / "ca.pem").read_bytes())
    signer = suite.generate_signer()
    cert = issue_member(ca_signer, ca, name, roles, signer.public_key, int(time.time() * 1000))
    return save_member(home, org, name, signer, cert)
