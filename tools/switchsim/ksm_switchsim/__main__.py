"""``python -m ksm_switchsim``: the same as the ``ksm-switchsim`` command."""

import sys

from ksm_switchsim.cli import main

if __name__ == "__main__":
    sys.exit(main())
