"""The change workflow: one typed request, one run, and what a run leaves behind.

- :mod:`.request`: :class:`~.request.ChangeRequest` (mode, scope, target, parts, limit, ...), built by the CLI
- :mod:`.run`: :func:`~.run.run_change`, the one wiring place (scope -> locks -> stages -> records)
- :mod:`.run_scope`: a request's scope resolved (authorities, ``--changed-since``, a reviewed plan)
- :mod:`.changes`: which hosts and devices a change since a git revision touches
- :mod:`.orchestrate`: the stages over a resolved scope (hosts, devices) -> :class:`~.orchestrate.ChangeRun`
- :mod:`.run_records`: plan file, plan/drift status records, audit records of a run
- :mod:`.planfile`, :mod:`.inputs`, :mod:`.locks`, :mod:`.audit`, :mod:`.records`: the files themselves
"""
