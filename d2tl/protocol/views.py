"""The two modes, two views and four images of a CEDM case, named in one place.

Order matters: it is the order of model inputs, of case-table columns and of figure panels.
"""

MODES = ("le", "rec")  # low energy, recombined (HE minus LE, weighted log subtraction)
VIEWS = ("cc", "mlo")  # cranio-caudal, medio-lateral oblique
IMAGES = tuple(f"{mode}_{view}" for mode in MODES for view in VIEWS)  # le_cc, le_mlo, rec_cc, rec_mlo

LABELS = ("benign", "malignant")  # class index 0, 1; the model's positive class is malignant
LATERALITIES = ("L", "R")

MODE_NAMES = {"le": "LE", "rec": "recombined"}
VIEW_NAMES = {"cc": "CC", "mlo": "MLO"}


def image_key(mode: str, view: str) -> str:
    """``image_key("rec", "cc") == "rec_cc"``."""
    return f"{mode}_{view}"


def split_key(key: str) -> tuple[str, str]:
    """``split_key("rec_cc") == ("rec", "cc")``."""
    mode, view = key.split("_")
    return mode, view


def image_title(key: str) -> str:
    """``"rec_cc"`` -> ``"recombined-CC"``, the paper's naming."""
    mode, view = split_key(key)
    return f"{MODE_NAMES[mode]}-{VIEW_NAMES[view]}"
