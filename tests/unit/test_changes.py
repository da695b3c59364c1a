"""Scoped plans from git: one-line changes of each kind select exactly the hosts and devices they touch.

Each test works on a throw-away git repository holding a copy of the sample inventories, roles,
playbooks and device templates (KSM_PROJECT_DIR points the toolkit at it), edits one line, commits,
and asks :func:`changed_scope` what changed since the first commit.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ksm_provision.errors import UsageError
from ksm_provision.inventory.hosts import Host, HostKind
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.render.gateway_vars import GATEWAY_GROUP, ansible_host_groups, gateway_hosts
from ksm_provision.workflow.changes import ChangeScope, changed_scope, scope_devices, scope_hosts, whole_scope

REPO = Path(__file__).resolve().parents[2]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}
TEMPLATES = {
    "templates/cisco_ios/access_switch.j2": "hostname {{ hostname }}\n",
    "templates/cisco_ios/core_switch.j2": "hostname {{ hostname }}\n",
    "templates/cisco_ios/_interfaces.j2": "{# macros #}\n",
    "templates/frr/router.j2": "hostname {{ hostname }}\n",
    "templates/common.j2": "{# shared #}\n",
}


def git(repo: Path, *args: str) -> str:
    import os

    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("changes") / "repo"
    repo.mkdir()
    for name in ("inventories", "roles", "playbooks"):
        shutil.copytree(REPO / name, repo / name)
    for name, text in TEMPLATES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / "ksm_provision").mkdir()
    (repo / "ksm_provision" / "__init__.py").write_text('"""stand-in for the toolkit code"""\n')
    (repo / "README.md").write_text("# inventory\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo


@pytest.fixture
def repo(template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(template_repo, copy, symlinks=True)
    monkeypatch.setenv("KSM_PROJECT_DIR", str(copy))
    return copy


def edit(repo: Path, name: str, old: str, new: str, commit: bool = True) -> None:
    path = repo / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    if commit:
        git(repo, "commit", "-q", "-am", f"edit {name}")


def scope_of(repo: Path) -> tuple[ChangeScope, Inventory]:
    inventory = load_inventory(repo / "inventories")
    return changed_scope(
        inventory, "HEAD~1" if git(repo, "rev-list", "--count", "HEAD") != "1" else "HEAD", repo
    ), inventory


def hosts_where(inventory: Inventory, test: Callable[[Host], bool]) -> set[str]:
    return {h.hostname for h in inventory.hosts if test(h)}


def ansible_hosts(inventory: Inventory) -> list[Host]:
    """Every Ansible host: clients, servers and the Linux side of every FRR router."""
    return [*inventory.hosts, *gateway_hosts(inventory)]


def ansible_hosts_where(inventory: Inventory, test: Callable[[Host], bool]) -> set[str]:
    return {h.hostname for h in ansible_hosts(inventory) if test(h)}


def gateways(inventory: Inventory, *authorities: str) -> set[str]:
    """The routers' Linux sides of *authorities* (all when none is named)."""
    return {h.hostname for h in gateway_hosts(inventory) if not authorities or h.authority in authorities}


def line_of(repo: Path, name: str, text: str) -> int:
    lines = (repo / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


# --------------------------------------------------------------------------- one entry of one authority


def test_client_address_plans_that_client_and_its_dhcp_server(repo: Path) -> None:
    edit(repo, "inventories/lup.yml", "address: 10.41.1.101", "address: 10.41.1.102")
    scope, _ = scope_of(repo)
    assert set(scope.hosts) == {"lup-pch-kfz02", "lup-pch-dhcp01"}
    assert not scope.devices
    assert scope.authorities == ("lup",)
    line = line_of(repo, "inventories/lup.yml", "hostname: lup-pch-kfz02")
    assert scope.hosts["lup-pch-kfz02"] == (
        f"inventories/lup.yml:{line}: client lup-pch-kfz02 changed (address)",
    )
    assert "DHCP server of pch-clients" in scope.hosts["lup-pch-dhcp01"][0]


def test_client_profile_plans_one_host(repo: Path) -> None:
    text = (repo / "inventories/lup.yml").read_text()
    block = text[text.index("hostname: lup-pch-kfz02") :]
    old = block[: block.index("profile: buergerbuero") + len("profile: buergerbuero")]
    edit(repo, "inventories/lup.yml", old, old.replace("buergerbuero", "verwaltung"))
    scope, _ = scope_of(repo)
    assert set(scope.hosts) == {"lup-pch-kfz02"}
    assert "changed (profile)" in scope.hosts["lup-pch-kfz02"][0]


def test_growing_a_range_plans_only_the_new_host_and_the_dhcp_server(repo: Path) -> None:
    edit(repo, "inventories/lup.yml", "count: 250", "count: 251")
    scope, inventory = scope_of(repo)
    assert set(scope.hosts) == {"lup-pch-ws251", "lup-pch-dhcp01"}
    assert "grew from 250 to 251" in scope.hosts["lup-pch-ws251"][0]
    assert [h.hostname for h in scope_hosts(inventory, scope)] == ["lup-pch-dhcp01", "lup-pch-ws251"]


def test_range_profile_plans_that_range_only(repo: Path) -> None:
    edit(repo, "inventories/schwerin.yml", "    profile: leitstelle\n", "    profile: verwaltung\n")
    scope, inventory = scope_of(repo)
    ils = [
        h
        for h in inventory.hosts
        if h.authority == "schwerin"
        and h.entry.__class__.__name__ == "ClientRange"
        and getattr(h.entry, "count", 0) == 16
    ]
    assert set(scope.hosts) == {h.hostname for h in ils}
    assert len(scope.hosts) == 16


def test_server_description_plans_that_server(repo: Path) -> None:
    edit(
        repo,
        "inventories/lup.yml",
        "description: Zentraler Logserver des Landkreises",
        "description: Zentraler Logserver",
    )
    scope, _ = scope_of(repo)
    assert set(scope.hosts) == {"lup-pch-log01"} and not scope.devices


def test_uncommitted_edit_counts(repo: Path) -> None:
    edit(repo, "inventories/lup.yml", "address: 10.41.1.101", "address: 10.41.1.102", commit=False)
    inventory = load_inventory(repo / "inventories")
    scope = changed_scope(inventory, "HEAD", repo)
    assert "lup-pch-kfz02" in scope.hosts


# --------------------------------------------------------------------------- inherited settings


def test_site_settings_plan_the_hosts_of_that_site(repo: Path) -> None:
    edit(repo, "inventories/lup.yml", "ntp_servers: [10.41.24.1, 10.40.0.123]", "ntp_servers: [10.41.24.1]")
    scope, inventory = scope_of(repo)
    expected = ansible_hosts_where(inventory, lambda h: h.authority == "lup" and h.site == "lwl")
    assert set(scope.hosts) == expected and len(expected) > 100
    assert "lup-lwl-rt01" in expected  # the router's Linux side takes its site's NTP servers too
    assert not scope.devices  # settings only: the switches of the site are not affected


def test_authority_settings_plan_every_host_of_that_authority_only(repo: Path) -> None:
    edit(repo, "inventories/lup.yml", "log_host: 10.41.8.30", "log_host: 10.41.8.31")
    scope, inventory = scope_of(repo)
    assert set(scope.hosts) == ansible_hosts_where(inventory, lambda h: h.authority == "lup")
    assert gateways(inventory, "lup") <= set(scope.hosts)
    assert not scope.devices and scope.authorities == ("lup",)


def test_network_plans_hosts_on_it_and_devices_using_it(repo: Path) -> None:
    edit(repo, "inventories/lup.yml", "gateway: 10.41.24.1,", "gateway: 10.41.24.254,")
    scope, inventory = scope_of(repo)
    on_it = hosts_where(inventory, lambda h: h.network == "lwl-servers")
    assert on_it == {"lup-lwl-dhcp01"}
    # the routers' packet filters and DHCP relays are computed from the authority's networks
    assert set(scope.hosts) == on_it | gateways(inventory, "lup") == on_it | {"lup-pch-rt01", "lup-lwl-rt01"}
    assert "packet filter and DHCP relay of the routers" in scope.hosts["lup-pch-rt01"][0]
    assert set(scope.devices) == {"lup-lwl-sw01"}


def test_network_settings_plan_every_device_of_the_authority(repo: Path) -> None:
    edit(repo, "inventories/schwerin.yml", "snmp_priv: vault:snmp_priv", "snmp_priv: vault:snmp_priv2")
    scope, inventory = scope_of(repo)
    assert not scope.hosts
    assert set(scope.devices) == {d.hostname for d in inventory.devices if d.authority == "schwerin"}


def test_device_entry_plans_it_and_the_devices_uplinked_to_it(repo: Path) -> None:
    edit(repo, "inventories/lup.yml", "description: Uplink lup-pch-sw02}", "description: Uplink sw02}")
    scope, _ = scope_of(repo)
    assert not scope.hosts
    assert set(scope.devices) == {"lup-pch-sw01", "lup-pch-sw02", "lup-pch-rt01"}
    assert "uplink peer" in scope.devices["lup-pch-rt01"][0]


def test_provider_defaults_plan_every_host_and_no_device(repo: Path) -> None:
    edit(repo, "inventories/ksm.yml", "locale: de_DE.UTF-8", "locale: en_US.UTF-8")
    scope, inventory = scope_of(repo)
    assert set(scope.hosts) == {h.hostname for h in ansible_hosts(inventory)}
    assert not scope.devices
    assert "provider defaults changed (locale)" in next(iter(scope.hosts.values()))[0]


def test_client_profile_plans_the_hosts_with_that_profile(repo: Path) -> None:
    edit(repo, "inventories/ksm.yml", "https://els.ksm-mv.internal/", "https://els2.ksm-mv.internal/")
    scope, inventory = scope_of(repo)
    assert set(scope.hosts) == hosts_where(inventory, lambda h: h.profile == "leitstelle")
    assert {h.split("-")[0] for h in scope.hosts} == {"lup", "sn"}


def test_shared_service_plans_its_host_and_the_clients_using_it(repo: Path) -> None:
    edit(repo, "inventories/ksm.yml", "port: 8443", "port: 8444")
    scope, inventory = scope_of(repo)
    # and the routers of the hosting and the using authorities (both), whose filters name the port
    assert set(scope.hosts) == hosts_where(
        inventory, lambda h: h.kind is HostKind.CLIENT or h.hostname == "lup-pch-app01"
    ) | gateways(inventory, "lup", "schwerin")
    assert "packet filter of the routers" in scope.hosts["sn-rh-rt01"][0]


def test_address_block_plans_that_authoritys_devices(repo: Path) -> None:
    edit(repo, "inventories/ksm.yml", "vlans: [200, 299]", "vlans: [200, 298]")
    scope, inventory = scope_of(repo)
    assert set(scope.hosts) == gateways(inventory, "schwerin") == {"sn-ils-rt01", "sn-rh-rt01", "sn-sh-rt01"}
    assert set(scope.devices) == {d.hostname for d in inventory.devices if d.authority == "schwerin"}


def test_vault_file_plans_the_whole_authority(repo: Path) -> None:
    with (repo / "inventories/vault/lup.yml").open("a") as handle:
        handle.write("\n")
    git(repo, "commit", "-q", "-am", "rekey")
    scope, inventory = scope_of(repo)
    assert set(scope.hosts) == ansible_hosts_where(inventory, lambda h: h.authority == "lup")
    assert set(scope.devices) == {d.hostname for d in inventory.devices if d.authority == "lup"}


# ------------------------------------------------------------------ roles, playbooks, templates, code


def test_role_change_plans_the_hosts_its_plays_target(repo: Path) -> None:
    with (repo / "roles/dhcp/tasks/main.yml").open("a") as handle:
        handle.write("# note\n")
    git(repo, "commit", "-q", "-am", "dhcp role")
    scope, inventory = scope_of(repo)
    assert (
        set(scope.hosts)
        == hosts_where(inventory, lambda h: "dhcp" in h.roles)
        == {"lup-pch-dhcp01", "lup-lwl-dhcp01", "sn-rh-dhcp01"}
    )
    assert "role dhcp runs on hosts: role_dhcp" in scope.hosts["sn-rh-dhcp01"][0]


def test_base_role_plans_every_host(repo: Path) -> None:
    with (repo / "roles/base/defaults/main.yml").open("a") as handle:
        handle.write("# note\n")
    git(repo, "commit", "-q", "-am", "base role")
    scope, inventory = scope_of(repo)
    assert set(scope.hosts) == {h.hostname for h in ansible_hosts(inventory)} and not scope.devices


def test_workplace_role_plans_clients_only(repo: Path) -> None:
    with (repo / "roles/workplace/tasks/main.yml").open("a") as handle:
        handle.write("# note\n")
    git(repo, "commit", "-q", "-am", "workplace role")
    scope, inventory = scope_of(repo)
    assert set(scope.hosts) == hosts_where(inventory, lambda h: h.kind is HostKind.CLIENT)


def test_fachverfahren_role_plans_hosting_servers_and_consuming_clients(repo: Path) -> None:
    with (repo / "roles/fachverfahren/tasks/main.yml").open("a") as handle:
        handle.write("# note\n")
    git(repo, "commit", "-q", "-am", "fv role")
    scope, inventory = scope_of(repo)
    expected = hosts_where(inventory, lambda h: h.kind is HostKind.CLIENT or "fachverfahren" in h.roles)
    assert set(scope.hosts) == expected
    assert "lup-pch-fs01" not in scope.hosts


def test_playbook_change_plans_every_host(repo: Path) -> None:
    with (repo / "playbooks/site.yml").open("a") as handle:
        handle.write("# note\n")
    git(repo, "commit", "-q", "-am", "playbook")
    scope, inventory = scope_of(repo)
    assert len(scope.hosts) == len(ansible_hosts(inventory)) and not scope.devices


@pytest.mark.parametrize(
    ("template", "test"),
    [
        (
            "templates/cisco_ios/access_switch.j2",
            lambda d: d.platform == "cisco_ios" and d.role == "access_switch",
        ),
        ("templates/cisco_ios/_interfaces.j2", lambda d: d.platform == "cisco_ios"),
        ("templates/frr/router.j2", lambda d: d.platform == "frr"),
        ("templates/common.j2", lambda d: True),
    ],
)
def test_template_change_plans_the_devices_that_use_it(
    repo: Path, template: str, test: Callable[[object], bool]
) -> None:
    with (repo / template).open("a") as handle:
        handle.write("! note\n")
    git(repo, "commit", "-q", "-am", "template")
    scope, inventory = scope_of(repo)
    assert not scope.hosts
    expected = {d.hostname for d in inventory.devices if test(d.model)}
    assert set(scope.devices) == expected and expected


def test_toolkit_code_change_plans_everything_and_says_so(repo: Path) -> None:
    with (repo / "ksm_provision/__init__.py").open("a") as handle:
        handle.write("# change\n")
    git(repo, "commit", "-q", "-am", "code")
    scope, inventory = scope_of(repo)
    assert scope.everything
    assert len(scope.hosts) == len(ansible_hosts(inventory)) and len(scope.devices) == len(inventory.devices)
    assert "toolkit code changed — everything is planned" in scope.summary()[0] + scope.hosts["sn-rh-ob01"][0]


# --------------------------------------------------------------------------- routers' Linux side


def test_gateway_role_plans_the_routers_linux_sides_only(repo: Path) -> None:
    with (repo / "roles/gateway/tasks/main.yml").open("a") as handle:
        handle.write("# note\n")
    git(repo, "commit", "-q", "-am", "gateway role")
    scope, inventory = scope_of(repo)
    assert (
        set(scope.hosts)
        == gateways(inventory)
        == {"lup-pch-rt01", "lup-lwl-rt01", "sn-ils-rt01", "sn-rh-rt01", "sn-sh-rt01"}
    )
    assert "role gateway runs on hosts: gateways" in scope.hosts["sn-rh-rt01"][0]
    assert not scope.devices and not scope.notes


def test_router_entry_plans_the_router_and_the_linux_sides_of_its_authority(repo: Path) -> None:
    edit(repo, "inventories/lup.yml", "description: LWL Clients}", "description: LWL Arbeitsplaetze}")
    scope, inventory = scope_of(repo)
    assert set(scope.devices) == {"lup-lwl-rt01"}
    assert set(scope.hosts) == gateways(inventory, "lup")
    assert "device lup-lwl-rt01" in scope.hosts["lup-pch-rt01"][0]


def test_switch_entry_plans_no_linux_side(repo: Path) -> None:
    edit(repo, "inventories/lup.yml", "description: Uplink lup-pch-sw02}", "description: Uplink sw02}")
    scope, _ = scope_of(repo)
    assert not scope.hosts


def test_server_address_plans_the_server_and_the_routers_that_filter_for_it(repo: Path) -> None:
    edit(repo, "inventories/lup.yml", "address: 10.41.8.30", "address: 10.41.8.31")
    scope, inventory = scope_of(repo)
    assert "lup-pch-log01" in scope.hosts
    assert gateways(inventory, "lup") <= set(scope.hosts)
    assert not gateways(inventory, "schwerin") & set(scope.hosts)


def test_a_shared_service_hosts_address_plans_the_routers_of_its_consumers_too(repo: Path) -> None:
    # lup-pch-app01 serves Kfz-Zulassung to schwerin: schwerin's routers let its clients out to it
    edit(repo, "inventories/lup.yml", "address: 10.41.8.40", "address: 10.41.8.41")
    scope, inventory = scope_of(repo)
    assert "lup-pch-app01" in scope.hosts
    assert gateways(inventory, "lup") | gateways(inventory, "schwerin") <= set(scope.hosts)


def test_consumed_services_plan_the_routers_of_user_and_hosting_authorities(repo: Path) -> None:
    edit(repo, "inventories/schwerin.yml", "consumes: [kfz, els]", "consumes: [els]")
    scope, inventory = scope_of(repo)
    assert gateways(inventory) <= set(scope.hosts)  # kfz is hosted by lup, els by schwerin


def test_nftables_template_plans_the_routers_linux_sides_only(repo: Path) -> None:
    (repo / "templates/frr/nftables.j2").write_text("table inet ksm {}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "nftables template")
    scope, inventory = scope_of(repo)
    assert set(scope.hosts) == gateways(inventory) and not scope.devices


def test_scope_hosts_returns_the_gateway_records(repo: Path) -> None:
    with (repo / "roles/gateway/tasks/main.yml").open("a") as handle:
        handle.write("# note\n")
    git(repo, "commit", "-q", "-am", "gateway role")
    scope, inventory = scope_of(repo)
    records = scope_hosts(inventory, scope)
    assert {h.hostname for h in records} == gateways(inventory)
    assert all(GATEWAY_GROUP in ansible_host_groups(inventory, h) for h in records)
    assert {str(h.address) for h in records} == {
        str(d.model.management.address) for d in inventory.devices if d.hostname in scope.hosts
    }


# --------------------------------------------------------------------------- nothing to plan, errors


def test_comment_and_quoting_changes_plan_nothing(repo: Path) -> None:
    edit(repo, "inventories/lup.yml", "address: 10.41.1.101", 'address: "10.41.1.101"  # quoted now')
    scope, _ = scope_of(repo)
    assert scope.empty
    assert any("only comments or formatting changed" in note for note in scope.notes)


def test_moving_an_entry_plans_nothing(repo: Path) -> None:
    path = repo / "inventories/lup.yml"
    text = path.read_text()
    start = text.index("  - hostname: lup-pch-kfz01")
    middle = text.index("  - hostname: lup-pch-kfz02")
    end = text.index("\nclient_ranges:")
    swapped = text[:start] + text[middle:end] + "\n" + text[start:middle].rstrip("\n") + text[end:]
    path.write_text(swapped)
    git(repo, "commit", "-q", "-am", "reorder")
    scope, _ = scope_of(repo)
    assert scope.empty, scope.summary()


def test_unrelated_file_plans_nothing_with_a_note(repo: Path) -> None:
    (repo / "README.md").write_text("# inventory\n\nmore words\n")
    git(repo, "commit", "-q", "-am", "docs")
    scope, _ = scope_of(repo)
    assert scope.empty
    assert scope.notes == ("README.md: not an input of any host or device",)


def test_removed_client_is_noted_and_its_dhcp_server_planned(repo: Path) -> None:
    path = repo / "inventories/lup.yml"
    text = path.read_text()
    start = text.index("  - hostname: lup-pch-kfz02")
    path.write_text(text[:start] + text[text.index("\nclient_ranges:") + 1 :])
    git(repo, "commit", "-q", "-am", "remove client")
    scope, _ = scope_of(repo)
    assert set(scope.hosts) == {"lup-pch-dhcp01"}
    assert any("client lup-pch-kfz02 removed" in note for note in scope.notes)


def test_scoped_inventory_ignores_other_authorities(repo: Path) -> None:
    edit(repo, "inventories/schwerin.yml", "count: 150", "count: 151")
    inventory = load_inventory(repo / "inventories").select(["lup"])
    scope = changed_scope(inventory, "HEAD~1", repo)
    assert scope.empty
    assert any("outside the selected authorities" in note for note in scope.notes)


def test_unknown_revision_is_a_clear_usage_error(repo: Path) -> None:
    inventory = load_inventory(repo / "inventories")
    with pytest.raises(UsageError, match="unknown git revision 'no-such-branch'") as caught:
        changed_scope(inventory, "no-such-branch", repo)
    assert "git fetch" in caught.value.hint


def test_whole_scope_and_scope_records(repo: Path) -> None:
    inventory = load_inventory(repo / "inventories")
    scope = whole_scope(inventory)
    assert len(scope_hosts(inventory, scope)) == len(ansible_hosts(inventory))
    assert len(scope_devices(inventory, scope)) == len(inventory.devices)
    assert scope.authorities == ("lup", "schwerin")


# --------------------------------------------------------------------------- size of the estate


def test_one_client_change_in_a_generated_estate_plans_one_host(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.generate_estate import generate
    finally:
        sys.path.remove(str(REPO))
    repo = tmp_path / "estate"
    generate(repo / "inventories", authorities=5)
    git(repo.parent, "init", "-q", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "estate")
    path = repo / "inventories/gem003.yml"
    text = path.read_text()
    anchor = text.index("hostname: gem003-s4-pc07")
    profile = text.index("profile: buergerbuero", anchor)
    path.write_text(text[:profile] + "profile: verwaltung" + text[profile + len("profile: buergerbuero") :])
    scope = changed_scope(load_inventory(repo / "inventories"), "HEAD", repo)
    assert set(scope.hosts) == {"gem003-s4-pc07"} and not scope.devices
