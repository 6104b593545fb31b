"""The paper's constants and published numbers, in one place (readings: docs/paper-readings.md).

Nothing here is a result of ours; experiment reports put these beside what we measure.
"""

N_PATIENTS = 96
N_PER_CLASS = 48
SPLIT_SIZES = {"train": 60, "val": 16, "test": 20}  # Sec. 4; we read it as stratified 30/30, 8/8, 10/10

BOX_SIZES = (64, 128, 256, 512)  # Sec. 4.1, full-resolution pixels
DEFAULT_BOX = 256
SHIFTS = (10, 20, 40)  # Sec. 4.2, full-resolution pixels, random direction shared within a view
SHIFT_REPEATS = 10
MIN_INPUT = 75  # keras.applications.InceptionV3's smallest input side
TUMOUR_SIZE_RANGE = ((35, 37), (1175, 881))  # smallest enclosing rectangles, px (Sec. 4.1)

# Table 2: each training and validation image becomes 5 alternatives; none for test.
AUGMENTATION = {
    "alternatives": 5,
    "shift_ratio": 0.05,
    "rotation_degrees": 3.0,
    "zoom_ratio": 0.05,
    "horizontal_flip": True,
    "vertical_flip": True,
}

RUNS = 10
EPOCHS = 100
RANDOM_INIT_EPOCHS = 200  # paper preset of Sec. 4.4 (90% training accuracy near epoch 130)
DECISION_THRESHOLD = 0.5

# Published numbers (fractions), for side-by-side reports.
REPORTED = {
    "box_size": {256: {"accuracy": 0.80, "sensitivity": 0.80, "specificity": 0.80}},
    "box_shift": {20: {"accuracy": 0.80, "sensitivity": 0.70, "specificity": 0.90},
                  "p_10_vs_20": 0.487, "p_40_vs_20": "< 0.001"},
    "tuning": {"semi": {"specificity": 0.0}, "param_ratio_stated": 5},
    "random_init": {"epoch_90pct_train_acc": {"imagenet": 30, "random": 130},
                    "last10_train_val_acc": {"imagenet": (0.9925, 0.7476), "random": (0.9662, 0.50)}},
    "baseline": {"specificity": 0.60},
    "related": {"Mateos 2016": {"sensitivity": 0.93, "specificity": 0.79},
                "Danala 2018": {"sensitivity": 0.8077, "specificity": 0.7273}},
}
