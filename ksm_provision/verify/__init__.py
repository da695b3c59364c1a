"""Prove that hosts match the inventory: pytest-testinfra checks generated from the models."""
