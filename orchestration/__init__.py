"""p2c's Dagster code location (``pip install -e '.[dagster]'``; ``dagster dev -m orchestration.definitions``)."""
