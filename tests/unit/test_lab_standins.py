"""The lab's Fachverfahren stand-ins: one enabled unit per hosted service, written idempotently."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksm_provision.lab.standins import UNIT_DIR, WANTS_DIR, write_fachverfahren_standins


def test_one_enabled_unit_per_service(tmp_path: Path) -> None:
    write_fachverfahren_standins(tmp_path, [("kfz", 8443), ("els", 443)])
    unit = (tmp_path / UNIT_DIR / "ksm-lab-standin-kfz.service").read_text()
    assert "ExecStart=/usr/bin/python3 -m http.server --bind 0.0.0.0 8443\n" in unit
    assert "DynamicUser=yes\n" in unit and "Restart=on-failure\n" in unit
    link = tmp_path / WANTS_DIR / "ksm-lab-standin-els.service"
    assert str(link.readlink()) == "/etc/systemd/system/ksm-lab-standin-els.service"


def test_a_second_write_changes_nothing_and_a_dropped_service_goes(tmp_path: Path) -> None:
    write_fachverfahren_standins(tmp_path, [("kfz", 8443), ("els", 9443)])
    unit = tmp_path / UNIT_DIR / "ksm-lab-standin-kfz.service"
    before = unit.stat().st_mtime_ns
    write_fachverfahren_standins(tmp_path, [("kfz", 8443)])
    assert unit.stat().st_mtime_ns == before
    assert sorted(p.name for p in (tmp_path / WANTS_DIR).iterdir()) == ["ksm-lab-standin-kfz.service"]
    assert not (tmp_path / UNIT_DIR / "ksm-lab-standin-els.service").exists()


@pytest.mark.parametrize("service", [("../../x", 80), ("kfz", 0), ("kfz", 70000)])
def test_refuses_what_is_no_service_id_or_port(tmp_path: Path, service: tuple[str, int]) -> None:
    with pytest.raises(ValueError):
        write_fachverfahren_standins(tmp_path, [service])
