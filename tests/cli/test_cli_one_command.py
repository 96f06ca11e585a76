"""``shockwave NAME ...`` builds the command tree of NAME alone (``cli._command(NAME)``): each
top-level command there has the options, help and errors it has in the whole tree."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pytest

from shockwave import cli


def _invoke(tree: object, args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        try:
            tree.main(args=args, prog_name="shockwave", standalone_mode=True)  # type: ignore[attr-defined]
        except SystemExit as exc:
            return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


NAMES = sorted(name for name in cli._command().commands if name != "trace")


def test_every_top_level_command_but_the_trace_group_is_built_alone() -> None:
    assert len(NAMES) > 10
    for name in NAMES:
        assert list(cli._command(name).commands) == [name]
    assert cli._command("trace") is cli._command()
    assert cli._command("nosuch") is cli._command()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("extra", [["--help"], ["--no-such-option"]])
def test_a_command_alone_is_the_command_in_the_whole_tree(name: str, extra: list[str]) -> None:
    alone, whole = cli._command(name), cli._command()
    assert [p.name for p in alone.commands[name].params] \
        == [p.name for p in whole.commands[name].params]
    assert _invoke(alone, [name, *extra]) == _invoke(whole, [name, *extra])


def test_command_modules_says_where_each_command_lives() -> None:
    cli._command()  # the whole tree: every command module mounted
    elsewhere = {name: info.callback.__module__
                 for name, info in cli._named(cli.app.registered_commands).items()
                 if info.callback.__module__ != "shockwave.cli"}
    assert elsewhere == cli.COMMAND_MODULES
