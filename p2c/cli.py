"""The `p2c` command line.

Each stage keeps its commands in its own module (``p2c/commands/<stage>.py``); this module only
assembles them. The sandbox is a separate package that product code never imports: it plugs its
``sandbox`` group in through the ``p2c.cli`` entry point, so ``p2c sandbox …`` exists only where
the sandbox is installed.
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import entry_points

import typer

app = typer.Typer(
    name="p2c",
    help="Prospect-to-cash sync between Dynamics 365 Sales and Finance & Operations, in your own warehouse.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)

# Product command modules; each defines `register(app)`.
COMMAND_MODULES: tuple[str, ...] = (
    "p2c.commands.extract",
    "p2c.commands.run",
    "p2c.commands.watch",
    "p2c.commands.writeback",
    "p2c.commands.transform",
    "p2c.commands.inspect",
    "p2c.commands.setup",
)


def _unwrap(text: str | None) -> str | None:
    """Docstrings are wrapped for the source; help text should wrap to the terminal instead."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def _assemble() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    for ep in entry_points(group="p2c.cli"):
        app.add_typer(ep.load(), name=ep.name)
    for command in app.registered_commands:
        command.help = _unwrap(command.help or (command.callback.__doc__ if command.callback else None))


_assemble()

if __name__ == "__main__":
    app()
