"""Allow ``python -m ksm_provision``."""

from ksm_provision.cli import main

if __name__ == "__main__":
    main()
