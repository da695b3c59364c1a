"""Running the Ansible roles: workspace, vault access, ansible-runner, typed results."""
