"""The change workflow: scoped plans, plan files, locks, audit log, status records."""
