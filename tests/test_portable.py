"""Committed results name files relative to the repository (or ``~`` for the home folder), never
an absolute path of the machine that made them: the rewriting (d2tl.io.provenance.portable), the
writers that apply it, and a scan of every committed file under results/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from d2tl.io.provenance import machine_roots, portable, portable_table, provenance
from d2tl.reporting.summary import write_summary
from d2tl.sections.result import SectionResult

REPO = Path(__file__).resolve().parents[1]
ROOTS = [("/srv/checkout", ""), ("/home/ann", "~")]
# An absolute path: a "/" that starts a token (not inside a word, a relative path, "~/" or a URL),
# followed by at least two path components.
ABSOLUTE = re.compile(r"(?:^|[\s\"'(,;=`\[])(/[\w.-]+){2,}")
# Committed folders whose owners have not yet rewritten them (results/pretrain*: the pre-training
# study's own reports); each must still hold an absolute path, so fixing one fails here until it
# leaves this list.
PENDING = ()


@pytest.mark.parametrize("given, expected", [
    ("fractal (recipe; /srv/checkout/results/pretrain/a/w.h5, sha256:1)", "fractal (recipe; results/pretrain/a/w.h5, sha256:1)"),
    ("Keras's file is not at /home/ann/.keras/models/w.h5)", "Keras's file is not at ~/.keras/models/w.h5)"),
    ("/srv/checkout", "."),
    ("/home/ann", "~"),
    ("/srv/checkout2/x and /srv/checkoutx", "/srv/checkout2/x and /srv/checkoutx"),  # other folders kept
    ("path=/srv/checkout/a.csv,(/home/ann/b)", "path=a.csv,(~/b)"),
    ("https://example.org/srv/checkout/x", "https://example.org/srv/checkout/x"),  # inside a URL: kept
    ("results/runs/abc", "results/runs/abc"),
])
def test_portable_rewrites_only_paths_under_the_roots(given, expected):
    assert portable(given, ROOTS) == expected


def test_portable_goes_into_containers_and_tables_and_leaves_other_values():
    value = {"a": [Path("/srv/checkout/x.csv"), ("/home/ann/y", 3)], "n": 1.5, "none": None}
    assert portable(value, ROOTS) == {"a": ["x.csv", ["~/y", 3]], "n": 1.5, "none": None}
    table = pd.DataFrame({"source": ["/srv/checkout/w.h5", None], "auc": [0.5, 0.7]})
    out = portable_table(table, ROOTS)
    assert list(out["source"].fillna("-")) == ["w.h5", "-"] and list(out["auc"]) == [0.5, 0.7]


def test_machine_roots_are_the_checkout_the_working_folder_and_home_most_specific_first():
    roots = dict(machine_roots())
    assert roots[str(REPO)] == "" and roots[str(Path.home().resolve())] == "~"
    lengths = [len(r) for r, _ in machine_roots()]
    assert lengths == sorted(lengths, reverse=True)


def test_writers_apply_it(tmp_path):
    weights = f"fractal (recipe; {REPO}/results/pretrain/h/w.h5, sha256:1)"
    prov = provenance(config={"weights": f"{REPO}/w.h5"}, seed=0, preset="quick", weights_source=weights)
    assert prov["weights_source"] == "fractal (recipe; results/pretrain/h/w.h5, sha256:1)"
    assert prov["config"] == {"weights": "w.h5"}
    assert prov["config_hash"] == provenance(config={"weights": f"{REPO}/w.h5"}, seed=0, preset="q")["config_hash"]
    section = SectionResult(name="pooling", folder=REPO / "results" / "pooling", table=pd.DataFrame(),
                            comparison=[], notes=[f"see {Path.home()}/x"], extra={}, histories=pd.DataFrame(),
                            provenance={"weights_sources": [weights]}, seconds=1.0)
    summary = section.summary()
    assert summary["folder"] == "results/pooling" and summary["notes"] == ["see ~/x"]
    text = write_summary(tmp_path / "SUMMARY.md", preset="quick", settings={}, dataset={}, sections=[summary],
                         baseline=None, interpretation=None, wall_seconds=1.0, load={},
                         notes=[f"weights in {REPO}/results/pretrain"])
    assert str(REPO) not in text and "weights in results/pretrain" in text


def _committed_results() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "results"], cwd=REPO, capture_output=True, text=True,
                                check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the committed results are not known")
    return [REPO / name for name in listed if Path(name).suffix in (".md", ".csv", ".json", ".txt", "")]


def test_committed_results_hold_no_absolute_path():
    files = _committed_results()
    assert any(f.name == "SUMMARY.md" for f in files)
    found = {}
    for path in files:
        if path.is_file():
            hits = [m.group().strip(" \"'(,;=`[") for m in ABSOLUTE.finditer(path.read_text(errors="replace"))]
            if hits:
                found[path.relative_to(REPO).as_posix()] = hits[0]
    pending = {name for name in found if name.startswith(PENDING)}
    assert {name: hit for name, hit in found.items() if name not in pending} == {}
    assert {p for p in PENDING if not any(name.startswith(p) for name in pending)} == set(), \
        "a pending folder is portable now: remove it from PENDING"


def test_the_scan_sees_an_absolute_path():
    assert ABSOLUTE.search('"weights": "fractal (r; /work/main/results/w.h5)"')
    assert ABSOLUTE.search("not at /root/.keras/models/x.h5")
    for fine in ("results/runs/abc", "~/.keras/models", "https://storage.googleapis.com/a/b", "80% / 80% / 80%",
                 "train/val", "(Sec. 4.1 / Fig. 7)"):
        assert not ABSOLUTE.search(fine), fine
