"""IOS-style SSH switch simulator: the lab stand-in for platform ``cisco_ios``.

Layers, each in its own module: :mod:`grammar` (tokens, abbreviations), :mod:`ios_rules` and
:mod:`config_tree` (the configuration tree and its canonical rendering), :mod:`config_commands` and
:mod:`exec_commands` (what commands do), :mod:`shell` (modes and errors of one session),
:mod:`session` (echo and line editing), :mod:`server` (SSH), :mod:`device`/:mod:`storage` (state),
:mod:`faults` (fault injection for tests), :mod:`cli` (the ``ksm-switchsim`` command).

Test infrastructure, packaged apart from ksm-provision and independent of it: nothing here imports
``ksm_provision``.
"""

from ksm_switchsim.faults import Faults, clear_faults, load_faults, set_faults
from ksm_switchsim.server import SimulatorConfig, SimulatorHandle, SwitchSimulator

__all__ = [
    "Faults",
    "SimulatorConfig",
    "SimulatorHandle",
    "SwitchSimulator",
    "clear_faults",
    "load_faults",
    "set_faults",
]
