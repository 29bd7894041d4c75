"""``python -m sandbox …``: the same commands as ``p2c sandbox …``."""

from sandbox.cli import app

if __name__ == "__main__":
    app(prog_name="python -m sandbox")
