"""``ksm prove``: the provider's promise as a reachability/isolation matrix, observed in the lab twin.

- :mod:`.model`: expectations, observations and the proof's result as plain data;
- :mod:`.matrix`: the expectations, derived from what the inventory *means* (pure);
- :mod:`.probe`: where probes start (:class:`~.probe.ProbeSource`) and how they are made;
- :mod:`.run`: probe every expectation concurrently and compare.

The matrix is derived independently of :mod:`ksm_provision.network.policy`, so that the proof can
disagree with the packet filters rendered from it. This package never imports the lab (the lab
imports :class:`~.probe.ProbeSource`) nor the workflow (which reaches the lab through
``target_resolution``): saving a proof as a status record is the command's job.
"""
