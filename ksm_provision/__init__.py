"""ksm-provision: configuration as code for the IT of several municipal authorities."""

__version__ = "0.1.0"
