"""Pull mode: clients apply their own configuration with ``ansible-pull`` on a systemd timer.

- :mod:`.repo` publishes one git repository per authority (playbook, roles, one rendered
  inventory per enrolled client, strings marked ``!unsafe`` exactly as ksm's own runs get them);
- :mod:`.tokens` derives each client's credential from its authority's collector key;
- :mod:`.collector` checks and stores the status record a client sends after each run;
- :mod:`.server` serves both (git over "dumb" HTTP, ``POST`` of status records), authenticated per
  client, to the authority's own clients only;
- :mod:`.status` classifies clients as current, stale or failing for ``ksm report``;
- :mod:`.enable` puts role ``pull`` on the clients; :mod:`.lab` wires it into the lab twin.
"""
