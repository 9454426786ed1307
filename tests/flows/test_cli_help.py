"""`aural --help` and every command's help read as a user's text: no source-file names, no
reStructuredText markup, a description for every option."""

from __future__ import annotations

import argparse

from cli.main import build_parser


def parsers() -> dict[str, argparse.ArgumentParser]:
    """The top parser and every command's (and sub-command's) parser, by name."""
    found, todo = {}, [("aural", build_parser())]
    while todo:
        name, parser = todo.pop()
        found[name] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [(f"{name} {sub}", p) for sub, p in action.choices.items()]
    return found


def test_every_help_is_plain_text_with_every_option_described():
    helps = parsers()
    assert {"aural run", "aural models list", "aural server start"} <= set(helps)
    for name, parser in helps.items():
        text = parser.format_help()
        assert ".py" not in text and "``" not in text and ":func:" not in text, name
        for action in parser._actions:
            if action.option_strings and action.help is not argparse.SUPPRESS:
                assert action.help, f"{name} {action.option_strings[0]} has no description"


def test_run_says_which_folder_it_runs_on():
    run_help = parsers()["aural"].format_help()
    assert "run" in run_help and "--data" in run_help
