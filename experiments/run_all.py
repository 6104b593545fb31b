"""Every section of the paper in order, in one process, and ``OUT/SUMMARY.md``.

The same as ``python -m d2tl run-all``; ``--help`` shows every option and example, and
``d2tl/commands/run_all.py`` holds the code.
"""

from d2tl.cli import command

main = command("run-all")  # the same as python -m d2tl run-all

if __name__ == "__main__":
    raise SystemExit(main())
