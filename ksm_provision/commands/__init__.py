"""Click command families; each module exposes ``register(group)``."""
