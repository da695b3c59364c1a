"""The Grundschutz-Check (``ksm compliance``): ksm's evidence mapped to the BSI IT-Grundschutz-Kompendium.

``mapping.py`` reads the versioned mapping (data), ``evidence.py`` knows the evidence ids and judges
one piece of evidence from the status records, ``state.py`` reads those records (with the report's
collection code), ``check.py`` builds the result (:mod:`.model`), ``text.py`` prints it.
"""
