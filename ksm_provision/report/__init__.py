"""The management report ("Steuerungsinformationen"): model, collection, terminal, JSON and HTML.

``collect`` builds the :class:`~ksm_provision.report.model.Report` from the inventory and the state
directory; ``text``, ``html`` (with charts from ``svg``) present it. Labels shown to people are
German (``labels``); code and JSON keys are English.
"""
