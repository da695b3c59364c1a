"""``ksm prove``: the matrix derived from the sample inventories, probe classification, the run with a
fake prober, the command's exit codes, JSON and status records (no lab, no namespaces)."""

from __future__ import annotations

import dataclasses
import doctest
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ksm_provision.cli import ksm
from ksm_provision.commands import prove as prove_command
from ksm_provision.errors import UsageError
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.prove import dhcp, matrix, model, probe, run
from ksm_provision.prove.dhcp import judge_lease, lease_expectations
from ksm_provision.prove.matrix import derive_expectations
from ksm_provision.prove.model import Expectation, ExpectationKind, Observation, Observed
from ksm_provision.prove.probe import NetnsProber, ProbeSource, classify_connect, classify_listing
from ksm_provision.prove.run import prove
from ksm_provision.workflow.records import ProofRecord, load_status

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories"
PACKAGE = REPO / "ksm_provision"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(INVENTORY)


@pytest.fixture(scope="module")
def cells(inventory: Inventory) -> list[Expectation]:
    return derive_expectations(inventory, set(inventory.authorities))


def find(cells: list[Expectation], source: str, host: str, port: int, check: str = "tcp") -> Expectation:
    return next(
        e
        for e in cells
        if e.source.key == source and (e.destination.host, e.destination.port, e.check) == (host, port, check)
    )


def line_at(where: str) -> str:
    file, _, line = where.rpartition(":")
    path = Path(file) if Path(file).is_absolute() else Path.cwd() / file
    return path.read_text(encoding="utf-8").splitlines()[int(line) - 1]


# --------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("network", ["rh-clients", "sh-clients", "ils-clients"])
def test_schwerin_clients_reach_their_fileserver_and_not_the_districts(
    cells: list[Expectation], network: str
) -> None:
    own = find(cells, f"schwerin/{network}", "sn-sh-fs01", 445)
    assert (own.kind, own.expected, own.destination.address) == ("own-fileserver", "reach", "10.42.24.10")
    listing = find(cells, f"schwerin/{network}", "sn-sh-fs01", 445, "smb-list")
    assert (listing.expected, listing.share_hint) == ("reach", "Buergerbuero")
    foreign = find(cells, f"schwerin/{network}", "lup-pch-fs01", 445)
    assert (foreign.kind, foreign.expected) == ("foreign-fileserver", "blocked")
    assert find(cells, f"schwerin/{network}", "lup-pch-rt01", 22).expected == "blocked"


def test_lup_clients_reach_els_because_lup_consumes_it(cells: list[Expectation]) -> None:
    els = find(cells, "lup/hgw-clients", "sn-ils-app01", 9443)
    assert (els.kind, els.expected, els.destination.authority) == ("shared-service", "reach", "schwerin")
    lines = [line_at(w) for w in els.defined_by]
    assert "id: hgw-clients" in lines[0]
    assert any("consumers: [schwerin, lup]" in line for line in lines)  # the grant in ksm.yml
    assert any(line.strip() == "consumes: [kfz, els]" for line in lines)  # and the consumer's own wish
    assert any("hosted_by: {authority: schwerin, host: sn-ils-app01}" in line for line in lines)
    assert any("hostname: sn-ils-app01" in line for line in lines)


def test_every_defined_by_points_at_the_entry_it_names(cells: list[Expectation]) -> None:
    for e in cells:
        source_line = line_at(e.defined_by[0])
        assert f"id: {e.source.network}," in source_line, e.id
        if e.kind in (ExpectationKind.OWN_FILESERVER, ExpectationKind.FOREIGN_FILESERVER):
            assert f"hostname: {e.destination.host}" in line_at(e.defined_by[1]), e.id
        if e.kind in (ExpectationKind.OWN_MANAGEMENT, ExpectationKind.FOREIGN_MANAGEMENT):
            assert f"address: {e.destination.address}" in line_at(e.defined_by[1]), e.id


def test_own_management_and_ungranted_ports_are_blocked(cells: list[Expectation]) -> None:
    # Hagenow has no router of its own: its gateway 10.41.32.1 lives on the Parchim router
    assert find(cells, "lup/hgw-clients", "lup-pch-rt01", 22).kind == "own-management"
    assert find(cells, "lup/hgw-clients", "lup-hgw-sw01", 22).expected == "blocked"
    assert find(cells, "lup/lwl-clients", "lup-lwl-dhcp01", 22).kind == "ungranted-port"
    assert find(cells, "schwerin/sh-clients", "sn-sh-fs01", 22).expected == "blocked"


def test_the_matrix_is_small_stable_and_client_networks_only(
    inventory: Inventory, cells: list[Expectation]
) -> None:
    assert len({e.id for e in cells}) == len(cells)
    assert derive_expectations(inventory, {"lup", "schwerin"}) == cells
    per_authority = {a: sum(1 for e in cells if e.source.authority == a) for a in inventory.authorities}
    assert all(10 <= n <= 100 for n in per_authority.values()), per_authority
    assert {e.source.network for e in cells if e.source.authority == "lup"} == {
        "pch-clients",
        "lwl-clients",
        "hgw-clients",
        "ils-clients",
    }
    only = derive_expectations(inventory, {"schwerin"})
    assert {e.source.authority for e in only} == {"schwerin"}
    assert any(e.destination.authority == "lup" for e in only)  # isolation reaches outside the scope


def test_an_authority_that_does_not_consume_a_service_is_blocked_from_it(inventory: Inventory) -> None:
    provider = inventory.provider
    services = [
        s.model_copy(update={"consumers": ["lup"]}) if s.id == "kfz" else s for s in provider.shared_services
    ]
    narrowed = dataclasses.replace(
        inventory, provider=provider.model_copy(update={"shared_services": services})
    )
    cells = derive_expectations(narrowed, {"schwerin", "lup"})
    kfz = find(cells, "schwerin/rh-clients", "lup-pch-app01", 8443)
    assert (kfz.kind, kfz.expected) == ("not-consumed", "blocked")
    assert "consumers: [lup, schwerin]" in line_at(kfz.defined_by[1])  # the list that leaves it out
    assert find(cells, "lup/pch-clients", "lup-pch-app01", 8443).expected == "reach"


def test_unknown_authority_is_a_usage_error(inventory: Inventory) -> None:
    with pytest.raises(UsageError, match="hagenow"):
        derive_expectations(inventory, {"hagenow"})


def test_the_matrix_does_not_read_the_policy_it_is_meant_to_check() -> None:
    for path in sorted((PACKAGE / "prove").glob("*.py")):
        imports = re.findall(r"^\s*(?:from|import)\s+(\S+)", path.read_text(encoding="utf-8"), re.MULTILINE)
        assert not [name for name in imports if name.startswith("ksm_provision.network")], path


# --------------------------------------------------------------------------- probes


def test_connect_outcomes() -> None:
    assert classify_connect("connected\n", 2).result == "reached"
    assert classify_connect("refused\n", 2).result == "reached"  # an RST: the packet got there
    assert classify_connect("timeout\n", 2) == Observation(
        result="blocked", detail="no answer within 2 s (dropped, or nobody there)"
    )
    assert classify_connect("oserror EHOSTUNREACH", 2).result == "blocked"
    assert classify_connect("Traceback ...", 2).result == "error"


def test_smb_listing_outcomes() -> None:
    listed = "Disk|Bauamt|\nDisk|Vorlagen|\nIPC|IPC$|IPC Service (Samba)\n"
    assert classify_listing(0, listed, "Bauamt").detail == "listed 2 share(s), Bauamt among them"
    assert classify_listing(0, listed, "Kasse").detail == "listed 2 share(s), Kasse missing from the list"
    denied = classify_listing(1, "session setup failed: NT_STATUS_ACCESS_DENIED", "Bauamt")
    assert (denied.result, denied.detail) == (
        "reached",
        "SMB answered; anonymous listing refused (access denied)",
    )
    assert (
        classify_listing(
            1, "do_connect: Connection to 10.41.8.10 failed (Error NT_STATUS_IO_TIMEOUT)", None
        ).result
        == "blocked"
    )
    assert classify_listing(1, "something else", None).result == "error"


def source(netns: str = "ksm-lup-pch-clients") -> ProbeSource:
    return ProbeSource(authority="lup", network="pch-clients", site="pch", netns=netns, address="10.41.2.7")


@pytest.mark.parametrize(("address", "port"), [("10.41.8.10; reboot", 445), ("10.41.8.10", 0), ("::1", 22)])
def test_probe_arguments_are_validated(address: str, port: int) -> None:
    with pytest.raises(ValueError):
        NetnsProber().tcp(source(), address, port)


@pytest.mark.parametrize("netns", ["-n", "a b", "../etc", ""])
def test_namespace_names_are_validated(netns: str) -> None:
    with pytest.raises(ValueError):
        source(netns)


# --------------------------------------------------------------------------- the run


class FakeProber:
    """Answers from a table: (source key, address, port, check) -> observed; default blocked."""

    def __init__(self, truth: dict[tuple[str, str, int, str], Observed]) -> None:
        self.truth = truth
        self.calls = 0

    def _look(self, source: ProbeSource, address: str, port: int, check: str) -> Observation:
        self.calls += 1
        return Observation(
            result=self.truth.get((source.key, address, port, check), "blocked"), detail="fake"
        )

    def tcp(self, source: ProbeSource, address: str, port: int, timeout: float = 2.0) -> Observation:
        return self._look(source, address, port, "tcp")

    def smb_share_listable(
        self, source: ProbeSource, address: str, share_hint: str | None, timeout: float = 2.0
    ) -> Observation:
        return self._look(source, address, 445, "smb-list")


def key(e: Expectation) -> tuple[str, str, int, str]:
    return (e.source.key, e.destination.address, e.destination.port, e.check)


def faithful(cells: list[Expectation], broken: set[str] = frozenset()) -> FakeProber:  # type: ignore[assignment]
    """A twin that keeps every promise except the cells in *broken* (reached where blocked, and back)."""
    truth: dict[tuple[str, str, int, str], Observed] = {}
    for e in cells:
        reached = (e.expected == "reach") != (e.id in broken)
        truth[key(e)] = "reached" if reached else "blocked"
    return FakeProber(truth)


def sources_for(inventory: Inventory, skip: set[str] = frozenset()) -> dict[str, ProbeSource]:  # type: ignore[assignment]
    found = {}
    for aid, authority in inventory.authorities.items():
        for net in authority.networks:
            k = f"{aid}/{net.id}"
            if k not in skip:
                found[k] = ProbeSource(
                    authority=aid,
                    network=net.id,
                    site=net.site,
                    netns=f"ksm-p-{aid}-{net.id}",
                    address=str(net.subnet.network_address + 7),
                )
    return found


def test_a_faithful_twin_proves_every_cell(inventory: Inventory, cells: list[Expectation]) -> None:
    result = prove(cells, sources_for(inventory), faithful(cells))
    assert result.ok and result.totals.ok == result.totals.total == len(cells)
    assert [c.expectation for c in result.cells] == cells  # order kept despite the thread pool


def test_a_broken_promise_is_a_mismatch(inventory: Inventory, cells: list[Expectation]) -> None:
    leak = "schwerin/rh-clients->lup-pch-fs01:445/tcp"
    result = prove(cells, sources_for(inventory), faithful(cells, {leak}))
    assert not result.ok
    wrong = [c for c in result.cells if c.status == "mismatch"]
    assert [(c.expectation.id, c.observed) for c in wrong] == [(leak, "reached")]


def test_networks_without_stand_in_are_counted_not_failed(
    inventory: Inventory, cells: list[Expectation]
) -> None:
    prober = faithful(cells)
    result = prove(cells, sources_for(inventory, skip={"lup/hgw-clients"}), prober)
    missing = [c for c in result.cells if c.status == "not-in-twin"]
    assert missing and {c.expectation.source.key for c in missing} == {"lup/hgw-clients"}
    assert result.ok and result.totals.not_in_twin == len(missing)
    assert prober.calls == len(cells) - len(missing)


def test_absent_destinations_and_empty_twins_prove_nothing(
    inventory: Inventory, cells: list[Expectation]
) -> None:
    result = prove(cells, sources_for(inventory), faithful(cells), present={"10.42.24.10"})
    assert {c.expectation.destination.address for c in result.cells if c.status != "not-in-twin"} == {
        "10.42.24.10"
    }
    empty = prove(cells, {}, faithful(cells))
    assert empty.totals.not_in_twin == len(cells) and not empty.ok


def test_a_probe_that_cannot_run_is_an_error_not_a_verdict(
    inventory: Inventory, cells: list[Expectation]
) -> None:
    class Broken(FakeProber):
        def tcp(self, source: ProbeSource, address: str, port: int, timeout: float = 2.0) -> Observation:
            return Observation(result="error", detail="probe did not run: Cannot open network namespace")

    result = prove(cells, sources_for(inventory), Broken({}))
    tcp_cells = [c for c in result.cells if c.expectation.check == "tcp"]
    assert {c.status for c in tcp_cells} == {"error"} and not result.ok


# --------------------------------------------------------------------------- the command


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, inventory: Inventory) -> Iterator[dict[str, Any]]:
    """The command with the lab's sources and the prober replaced; state in a temporary directory."""
    every = derive_expectations(inventory, set(inventory.authorities))
    setup: dict[str, Any] = {"prober": faithful(every), "state": tmp_path / "state"}
    monkeypatch.setenv("KSM_STATE_DIR", str(setup["state"]))
    setup["leases"] = {
        e.source.key: good_lease(e) for e in lease_expectations(inventory, inventory.authorities)
    }
    monkeypatch.setattr(
        prove_command,
        "lab_sources",
        lambda: prove_command.TwinSources(
            sources=sources_for(inventory),
            leases=setup["leases"],
            present=frozenset(e.destination.address for e in every),
        ),
    )
    monkeypatch.setattr(prove_command, "make_prober", lambda: setup["prober"])
    setup["cells"] = every
    yield setup


def invoke(*args: str) -> Any:
    return CliRunner().invoke(ksm, ["--inventory", str(INVENTORY), "prove", *args])


def test_all_cells_holding_exits_zero_and_records_each_authority(cli: dict[str, Any]) -> None:
    result = invoke("--all", "--target", "lab")
    assert result.exit_code == 0, result.output
    assert "schwerin: 33 cells, 33 ok, 0 mismatch" in result.stdout  # 30 probes + 3 DHCP leases
    assert "+--" in result.stdout or "|" in result.stdout  # plain ASCII table off a terminal
    for aid in ("lup", "schwerin"):
        record = load_status(ProofRecord, aid, cli["state"])
        assert record is not None and record.passed and record.target == "lab"
        assert {c.expectation.source.authority for c in record.cells} == {aid}  # tenant-separated


def test_a_mismatch_exits_one_and_names_the_promise(cli: dict[str, Any]) -> None:
    leak = "lup/pch-clients->sn-rh-rt01:22/tcp"
    cli["prober"] = faithful(cli["cells"], {leak})
    result = invoke("--authority", "lup", "--target", "lab")
    assert result.exit_code == 1, result.output
    text = result.stdout
    assert f"MISMATCH {leak}: expected blocked, observed reached" in text
    assert re.search(r"defined by: inventories/lup\.yml:\d+, inventories/schwerin\.yml:\d+", text)
    assert "hint: tenant isolation is broken" in text
    record = load_status(ProofRecord, "lup", cli["state"])
    assert record is not None and not record.passed and record.totals.mismatch == 1
    assert load_status(ProofRecord, "schwerin", cli["state"]) is None  # not in scope: not touched


def test_json_is_the_full_result(cli: dict[str, Any]) -> None:
    result = invoke("--authority", "schwerin", "--target", "lab", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"target", "cells", "totals", "ok"}
    assert set(data["totals"]) == {"total", "ok", "mismatch", "errors", "not_in_twin"}
    cell = data["cells"][0]
    assert set(cell) == {"expectation", "status", "observed", "detail"}
    assert set(cell["expectation"]) == {
        "id",
        "kind",
        "check",
        "source",
        "destination",
        "expected",
        "reason",
        "defined_by",
        "share_hint",
        "lease",
    }
    assert set(cell["expectation"]["destination"]) == {
        "authority",
        "host",
        "address",
        "port",
        "protocol",
        "service",
    }
    assert {c["expectation"]["source"]["authority"] for c in data["cells"]} == {"schwerin"}


def test_only_the_lab_can_be_proven(cli: dict[str, Any]) -> None:
    result = invoke("--all")
    assert isinstance(result.exception, UsageError) and result.exception.exit_code == 64
    assert "out of scope" in str(result.exception)


def test_a_scope_is_required(cli: dict[str, Any]) -> None:
    assert isinstance(invoke("--target", "lab").exception, UsageError)


@pytest.mark.parametrize("module", [dhcp, matrix, model, probe, run], ids=lambda m: m.__name__)
def test_doctests(module: Any) -> None:
    assert doctest.testmod(module).failed == 0


# --------------------------------------------------------------------------- DHCP leases


@dataclass(frozen=True)
class FakeLease:
    address: str
    routers: tuple[str, ...]
    dns_servers: tuple[str, ...]


def good_lease(expectation: Expectation) -> FakeLease:
    terms = expectation.lease
    assert terms is not None
    return FakeLease(terms.ranges[0][0], (terms.router,), tuple(terms.dns_servers))


def test_lease_cells_come_from_the_inventory(inventory: Inventory) -> None:
    cells = {e.source.key: e for e in lease_expectations(inventory, ["schwerin"])}
    sh = cells["schwerin/sh-clients"]
    assert sh.destination.host == "sn-rh-dhcp01" and sh.destination.protocol == "udp"
    assert sh.lease is not None and sh.lease.router == "10.42.16.1"
    assert ("10.42.18.0", "10.42.19.250") in sh.lease.ranges  # the network's dhcp pool
    assert sh.lease.dns_servers == ["10.40.0.53", "10.40.1.53"]
    assert all(re.match(r"inventories/schwerin\.yml:\d+$", where) for where in sh.defined_by)


def test_a_lease_that_says_something_else_is_a_mismatch(inventory: Inventory) -> None:
    expectation = next(
        e for e in lease_expectations(inventory, ["schwerin"]) if e.source.network == "sh-clients"
    )
    assert judge_lease(expectation, good_lease(expectation)).status == "ok"
    wrong = FakeLease("10.42.16.5", ("10.42.16.1",), ("10.40.0.53", "10.40.1.53"))
    cell = judge_lease(expectation, wrong)
    assert cell.status == "mismatch" and "outside" in cell.detail
    no_lease = judge_lease(expectation, "no DHCP lease in ns: No DHCPOFFERS received")
    assert no_lease.status == "mismatch" and no_lease.observed == "blocked"
    assert judge_lease(expectation, None).status == "not-in-twin"


def test_a_missing_lease_fails_the_command(cli: dict[str, Any]) -> None:
    cli["leases"]["schwerin/sh-clients"] = "no DHCP lease in ksm-sn-sh-sw01-c211: No DHCPOFFERS received."
    result = invoke("--authority", "schwerin", "--target", "lab")
    assert result.exit_code == 1
    assert "MISMATCH schwerin/sh-clients->sn-rh-dhcp01:67/dhcp" in result.stdout
