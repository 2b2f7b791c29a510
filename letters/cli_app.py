"""The Typer app every command module registers on, and what all commands share: the
campaign folder option (`-C`), and `command`, which maps a LettersError to its messages and
exit code."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from letters import LettersError, __version__
from letters.display import EXIT_INPUT, err, out, show_errors

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Turn one campaign appeal into many personalised, print-ready letters.",
)

# `-C DIR` works before the command name (kept in the context) and after it.
Project = Annotated[
    Path | None,
    typer.Option("-C", "--project", help="Campaign folder (default: the current directory)."),
]
Command = TypeVar("Command", bound=Callable[..., None])


def _root(context: typer.Context, project: Path | None) -> Path:
    """The campaign folder: `-C` after the command name, else before it, else here."""
    root = (project or context.obj or Path(".")).resolve()
    context.meta["letters_root"] = root  # for the error messages, relative to it
    return root


def command(name: str | None = None) -> Callable[[Command], Command]:
    """Register a command whose LettersError becomes messages and an exit code."""

    def register(function: Command) -> Command:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> None:
            try:
                function(*args, **kwargs)
            except LettersError as error:
                context = kwargs.get("context")
                root = context.meta.get("letters_root") if context is not None else None
                raise typer.Exit(show_errors(error, root)) from None
            except KeyboardInterrupt:
                err.print(
                    "Interrupted; finished letters are saved and the next build does the rest."
                )
                raise typer.Exit(130) from None

        app.command(name)(run)
        return function

    return register


@app.callback(invoke_without_command=True)
def main_options(
    context: typer.Context,
    project: Project = None,
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"letters {__version__}")
        raise typer.Exit(0)
    if context.invoked_subcommand is None:
        out.print(context.get_help())
        raise typer.Exit(EXIT_INPUT)
    context.obj = project


def app_for(arguments: list[str]) -> typer.Typer:
    """The app with only the command that `arguments` name registered, else the whole app
    (for help, `--version`, a mistyped name). Typer builds the Click command of every
    registered command on every run (about 15 ms for all of ours); one is enough."""
    name = _command_name(arguments)
    chosen = [
        info
        for info in app.registered_commands
        if info.callback is not None
        and (info.name or info.callback.__name__.lower().replace("_", "-")) == name
    ]
    if len(chosen) != 1:
        return app
    only = copy.copy(app)
    only.registered_commands = chosen
    return only


def _command_name(arguments: list[str]) -> str | None:
    """The first word that is neither an option of the app nor its value."""
    words = iter(arguments)
    for word in words:
        if word in ("-C", "--project"):
            next(words, None)
        elif word.startswith(("--project=", "-C")):
            continue
        elif word.startswith("-"):
            return None  # --help, --version or a mistake: the whole app answers
        else:
            return word
    return None
