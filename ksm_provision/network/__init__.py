"""Switch and router configurations: render, plan, back up, push with rollback.

Stages, one module each: :mod:`intended` (inventory -> intended config via :mod:`jinja_env` and
:mod:`filters`), :mod:`remediation` (hier_config, rules in :mod:`drivers`, table in
:mod:`platforms`), :mod:`session` (Netmiko), :mod:`push` (one device: backup, push, confirm or roll
back), :mod:`pipeline` (many devices in parallel, scoped to an inventory's authorities),
:mod:`backup` (git-friendly files), :mod:`secrets` (the authority's vault, scrubbing),
:mod:`results` (typed results).
"""
