"""Formula-driven pre-training of InceptionV3, no ImageNet (FractalDB, Kataoka et al.):
:mod:`.fractaldb` generates the image set from a seed, :mod:`.store` keeps recipes and their
weights files by recipe hash, :mod:`.command` trains (``python -m d2tl pretrain``), :mod:`.sources` registers the
weights sources (imported by :mod:`d2tl.training.run_folder`)."""
