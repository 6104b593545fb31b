"""One host, many GPUs: N run-all shards as N processes, one GPU each, then the reports.

The same as ``python -m d2tl run-shards``; ``--help`` shows every option and example, and
``d2tl/commands/run_shards.py`` holds the code.
"""

from d2tl.cli import command

main = command("run-shards")  # the same as python -m d2tl run-shards

if __name__ == "__main__":
    raise SystemExit(main())
