"""One meaning per option (docs/options.md): every command's parser, walked, holds each shared
option (d2tl/protocol/options.py) with the one help text and default, and docs/options.md names each
command's ``--out`` default as the parser has it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from d2tl.protocol import options
from d2tl.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]


def command_parser(name: str) -> argparse.ArgumentParser:
    parser = build_parser(name)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.fixture(scope="module")
def parsers() -> dict:
    return {name: command_parser(name) for name in COMMANDS}


def flags(parser) -> dict:
    return {flag: action for action in parser._actions for flag in action.option_strings}


def test_every_command_that_names_a_shared_option_means_the_same(parsers):
    seen = {}
    for name, parser in parsers.items():
        for flag, action in flags(parser).items():
            seen.setdefault(flag, []).append((name, action.help, action.default, action.dest))
    for flag, help_text in options.SHARED.items():
        uses = seen.get(flag, [])
        assert uses, f"no command takes {flag}"
        for name, text, default, dest in uses:
            assert text == help_text, f"{name} {flag}: help differs from d2tl/protocol/options.py"
            assert dest == flag[2:].replace("-", "_"), f"{name} {flag}: dest {dest}"
            if flag != "--out":
                expected = options.PRESET_DEFAULT if flag == "--preset" else (
                    options.DEFAULT_CASES if flag == "--cases" else 0)
                assert default == expected, f"{name} {flag}: default {default!r}, not {expected!r}"


def test_the_four_options_are_shared_and_taken_where_expected(parsers):
    assert {"--seed", "--out", "--preset", "--cases"} <= set(options.SHARED)
    takes = {flag: {n for n, p in parsers.items() if flag in flags(p)} for flag in options.SHARED}
    assert takes["--preset"] >= {"train", "baseline", "interpretation", "box-size", "run-all"}
    assert {"rois", "baseline"} <= takes["--shift-seed"] | takes["--split-seed"]
    assert "--seed" not in flags(parsers["rois"])  # its one seed is the shift's: --shift-seed


def test_out_defaults_come_from_one_table(parsers):
    for name, parser in parsers.items():
        action = flags(parser).get("--out")
        if action is None:
            continue
        place = options.OUT_DEFAULTS[name]
        assert action.default == (None if place.startswith("<") else place), name
        assert action.required == (place == "<required>"), name
        assert ("--out: required" if action.required else f"--out default: {place.strip('<>')}") in parser.epilog


def test_docs_table_names_every_command_and_its_out_default(parsers):
    text = (ROOT / "docs" / "options.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| ([^|]+?) \|", text, flags=re.M))
    for name, parser in parsers.items():
        if "--out" in flags(parser):
            assert name in rows, f"docs/options.md lacks {name}"
            assert options.OUT_DEFAULTS[name].strip("<>") in rows[name], name


def test_help_shows_the_commands_own_out_default(capsys):
    with pytest.raises(SystemExit):
        build_parser("train").parse_args(["train", "--help"])
    out = capsys.readouterr().out
    assert "--out default: results/train" in out and "--seed SEED" in out
