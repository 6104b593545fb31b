"""The 60/16/20 split: exact paper counts, grouping, seeding, scaling, errors, persistence."""

import itertools

import numpy as np
import pandas as pd
import pytest

from d2tl.data.split import load_split, part_targets, save_split, split_cases, split_summary
from d2tl.io.errors import DataError
from d2tl.protocol.views import LABELS


def one_per_person(n_benign, n_malignant, index_offset=0):
    n = n_benign + n_malignant
    ids = [f"P{i}" for i in range(n)]
    return pd.DataFrame({"id": ids, "group": ids, "label": ["benign"] * n_benign + ["malignant"] * n_malignant},
                        index=np.arange(n) + index_offset)


def bilateral_table(n_people=150, seed=0):
    """People with one to three cases; many of them hold both labels."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_people):
        for j in range(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1])):
            rows.append((f"P{p}_{j}", f"P{p}", str(rng.choice(LABELS))))
    return pd.DataFrame(rows, columns=["id", "group", "label"])


def counts(table, parts):
    return split_summary(table, parts)[list(LABELS)]


def test_paper_split_is_exact():
    table = one_per_person(48, 48, index_offset=100).sample(frac=1, random_state=0)
    parts = split_cases(table, seed=0)
    assert parts.index.equals(table.index)
    assert counts(table, parts).to_dict("index") == {
        "train": {"benign": 30, "malignant": 30},
        "val": {"benign": 8, "malignant": 8},
        "test": {"benign": 10, "malignant": 10}}


def test_paper_split_is_random_over_cases():
    table = one_per_person(48, 48)
    in_test = np.mean([split_cases(table, seed=s).eq("test").to_numpy() for s in range(200)], axis=0)
    assert in_test.min() > 0  # no case is kept out of the test set by its position
    assert abs(in_test.mean() - 10 / 48) < 1e-9
    assert in_test[:48].std() < 0.06


@pytest.mark.parametrize("seed", range(5))
def test_groups_never_straddle_and_counts_hit_targets(seed):
    table = bilateral_table(seed=seed)
    parts = split_cases(table, seed=seed)
    assert parts.groupby(table["group"]).nunique().max() == 1
    targets = part_targets(table["label"].value_counts().to_dict())
    got = counts(table, parts)
    for part, by_label in targets.items():
        for label, n in by_label.items():
            assert abs(got.loc[part, label] - n) <= 1


def test_multi_case_groups_reach_every_part():
    table = bilateral_table(seed=1)
    sizes = table.groupby("group")["id"].transform("size")
    seen = set()
    for seed in range(5):
        parts = split_cases(table, seed=seed)
        seen |= set(parts[sizes > 1])
    assert seen == {"train", "val", "test"}


def test_grouping_wins_over_exact_counts():
    # Benign cases come in pairs of one person, so an odd target cannot be met exactly.
    table = pd.DataFrame({"id": [f"c{i}" for i in range(30)],
                          "group": [f"b{i // 2}" for i in range(20)] + [f"m{i}" for i in range(10)],
                          "label": ["benign"] * 20 + ["malignant"] * 10})
    parts = split_cases(table, seed=0)
    assert parts.groupby(table["group"]).nunique().max() == 1
    got = counts(table, parts)
    assert got["benign"].sum() == 20 and all(got["benign"] % 2 == 0)
    targets = part_targets({"benign": 20, "malignant": 10})
    assert sum(abs(got.loc[p, "benign"] - targets[p]["benign"]) for p in targets) == 2  # the least possible
    assert all(got.loc[p, "malignant"] == targets[p]["malignant"] for p in targets)


def _least_miss(table):
    """Brute force: the smallest sum |count - target| over all group placements."""
    targets = part_targets(table["label"].value_counts().to_dict())
    target = np.array([[targets[p][label] for label in LABELS] for p in targets])
    mixes = np.array([[(g == label).sum() for label in LABELS] for _, g in table.groupby("group")["label"]])
    place = np.array(list(itertools.product(range(3), repeat=len(mixes))))  # (options, groups)
    got = np.stack([(mixes * (place == k)[:, :, None]).sum(axis=1) for k in range(3)], axis=1)
    return np.abs(got - target).sum(axis=(1, 2)).min(), target


def test_lumpy_groups_get_the_least_possible_miss():
    rng = np.random.default_rng(5)
    tested = 0
    while tested < 40:
        rows = [(f"{g}_{j}", f"g{g}", str(rng.choice(LABELS)))
                for g in range(int(rng.integers(5, 8))) for j in range(int(rng.integers(1, 5)))]
        table = pd.DataFrame(rows, columns=["id", "group", "label"])
        try:
            parts = split_cases(table, seed=tested)
        except DataError:
            continue
        least, target = _least_miss(table)
        assert np.abs(counts(table, parts).to_numpy() - target).sum() == least
        tested += 1


def test_seeded():
    table = bilateral_table()
    a, b, c = split_cases(table, 3), split_cases(table, 3), split_cases(table, 4)
    assert a.equals(b)
    assert not a.equals(c)


@pytest.mark.parametrize("n_benign,n_malignant", [(24, 24), (120, 80), (3, 3), (4, 17)])
def test_proportional_scaling(n_benign, n_malignant):
    table = one_per_person(n_benign, n_malignant)
    got = counts(table, split_cases(table, seed=0))
    for label, n in (("benign", n_benign), ("malignant", n_malignant)):
        assert got[label].sum() == n and got[label].min() >= 1
        for part, share in (("train", 60 / 96), ("val", 16 / 96), ("test", 20 / 96)):
            assert abs(got.loc[part, label] - n * share) <= 1


def test_48_cases():
    table = one_per_person(24, 24)
    assert counts(table, split_cases(table, seed=1)).to_numpy().tolist() == [[15, 15], [4, 4], [5, 5]]


def test_part_targets_rounding():
    assert part_targets({"benign": 48, "malignant": 48})["val"] == {"benign": 8, "malignant": 8}
    t = part_targets({"benign": 200, "malignant": 3})
    assert [t[p]["benign"] for p in t] == [125, 33, 42]  # 125, 33.3, 41.7
    assert [t[p]["malignant"] for p in t] == [1, 1, 1]


@pytest.mark.parametrize("table", [
    one_per_person(2, 10),
    one_per_person(10, 0),
    pd.DataFrame({"id": list("abcdef"), "group": ["x", "x", "x", "y", "z", "w"],
                  "label": ["malignant"] * 3 + ["benign"] * 3}),
])
def test_too_small_raises_data_error(table):
    with pytest.raises(DataError, match="benign|malignant"):
        split_cases(table, seed=0)


def test_too_small_message_has_counts():
    with pytest.raises(DataError, match="benign 2, malignant 10"):
        split_cases(one_per_person(2, 10), seed=0)


def test_bad_tables_raise():
    table = one_per_person(10, 10)
    with pytest.raises(DataError, match="label"):
        split_cases(table.assign(label=["Benign"] * 20), seed=0)
    with pytest.raises(DataError, match="group"):
        split_cases(table.drop(columns="group"), seed=0)
    with pytest.raises(DataError, match="duplicate"):
        split_cases(table.assign(id=["same"] * 20), seed=0)


def test_summary():
    table = one_per_person(48, 48)
    summary = split_summary(table, split_cases(table, seed=0))
    assert list(summary.index) == ["train", "val", "test"]
    assert summary["total"].tolist() == [60, 16, 20]


def test_save_load_round_trip(tmp_path):
    table = bilateral_table(n_people=40)
    table.index = table.index + 7
    parts = split_cases(table, seed=0)
    path = tmp_path / "sub" / "split.csv"
    save_split(parts, table, path)
    assert pd.read_csv(path).columns.tolist() == ["id", "part"]
    assert load_split(path, table).equals(parts)
    by_id = load_split(path)
    assert by_id[table["id"].iloc[0]] == parts.iloc[0] and len(by_id) == len(table)
    with pytest.raises(DataError, match="missing"):
        load_split(path, pd.concat([table, pd.DataFrame({"id": ["new"], "group": ["g"], "label": ["benign"]})]))
    with pytest.raises(DataError, match="does not exist"):
        load_split(tmp_path / "none.csv")
    assert [p.name for p in path.parent.iterdir()] == ["split.csv"]  # no temporary left behind
