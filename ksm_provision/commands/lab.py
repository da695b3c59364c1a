"""``ksm lab up|status|down``: the commands live with the lab twin in :mod:`ksm_provision.lab.commands`."""

from ksm_provision.lab.commands import register

__all__ = ["register"]
