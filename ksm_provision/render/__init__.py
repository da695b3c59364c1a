"""Rendering: Ansible inventory/vars and intended device configurations."""
