"""The commands over the whole paper: :mod:`.run_all` (every section, the baseline, the
interpretation and SUMMARY.md), :mod:`.shards` (the plan spread over processes) and
:mod:`.run_shards` (N shards as N processes, then the reports). ``d2tl/cli.py`` names every command.
"""
