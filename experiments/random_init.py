"""Sec. 4.4: ImageNet vs random initialisation, full-tune (200 epochs in the paper preset), with a
third arm beyond the paper: InceptionV3 pre-trained on formula-generated images (``--weights
fractal``, made by ``python -m d2tl pretrain``; docs/pretrain.md).

Writes, to ``OUT/random_init/``, the first epoch at which each arm reaches 90% training accuracy
(paper: ~30 vs ~130), the mean training and validation accuracy over the last 10 epochs (paper:
99.25%/74.76% vs 96.62%/50%), test metrics and the learning curves of every arm. An arm that
cannot be trained here is named as absent, with why (d2tl/sections/init_arms.py): ImageNet offline (then
the comparison is formula-pre-trained vs random), the formula-pre-trained arm until its file is
made (the report gives the command). With neither, the comparison is void, and the report says so.

    python experiments/random_init.py                     # quick preset, data/synthetic/cases.csv
    python experiments/random_init.py --dry-run           # the plan and an estimated time; trains nothing
    python experiments/random_init.py --preset paper --cases my_cases.csv

Trained configurations go to ``OUT/runs/<hash>/`` (shared by every section: a configuration that
another section already trained is reused, never trained twice); see :mod:`d2tl.sections`.
"""

from d2tl.cli import command

main = command("random-init")  # the same as python -m d2tl random-init

if __name__ == "__main__":
    raise SystemExit(main())
