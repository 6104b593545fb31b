"""Beyond the paper: does transfer from a synthetic CEDM source domain make the deep path learn?

The default configuration (dual-mode, full-tune, box 256 px) under the quick preset, from
synthetic-pre-trained, formula-pre-trained and random weights, 3 runs each, every run scored on
the external set, the arms compared in pairs (paired bootstrap AUC difference, McNemar):

    python -m d2tl pretrain --source synthetic        # once (docs/pretrain.md)
    python -m d2tl pretrain                           # once
    python experiments/transfer.py                    # results/transfer/

See :mod:`d2tl.studies.transfer`; the commands and numbers are in docs/learning.md.
"""

from d2tl.cli import command

main = command("transfer")  # the same as python -m d2tl transfer

if __name__ == "__main__":
    raise SystemExit(main())
