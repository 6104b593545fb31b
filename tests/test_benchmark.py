"""The benchmark's measurements on tiny data, and the FLOP counter against InceptionV3's published count.

The throughput, data and memory measurements run on the documented stand-in backbone
(conftest.stub_backbone): what they test is the bookkeeping (interleaved repeats, timings,
FLOPs, the table), which does not depend on the backbone, and tracing an InceptionV3 training
graph in a fresh engine would cost minutes. The FLOP counter is checked on the real InceptionV3.
"""

import json

import keras
import pytest

from d2tl.studies import benchmark
from d2tl.model.flops import TRAIN_FACTOR, forward_flops, matmul_rate, train_flops_per_sample
from d2tl.model import ModelConfig, build_model
from d2tl.training.run_folder import resolve_weights

from conftest import stub_backbone, write_tiny_cases

pytestmark = pytest.mark.slow  # real InceptionV3 training graphs


def test_flops_match_inception_v3s_published_count():
    # Szegedy et al. 2016 / keras.applications: 5.7 billion multiply-adds at 299 px, with the top
    top = keras.applications.InceptionV3(include_top=True, weights=None)
    assert forward_flops(top) == pytest.approx(2 * 5.71e9, rel=0.01)
    backbone = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg", input_shape=(75, 75, 3))
    model, _ = build_model(ModelConfig(input_size=75, weights="random"), resolve_weights("random"))
    head = 2 * (2 * 4096 * 512) + 2 * 1024 * 2  # two abstraction layers and the output layer
    assert forward_flops(model) == 4 * forward_flops(backbone) + head  # CC and MLO both counted per backbone
    assert train_flops_per_sample(model) == TRAIN_FACTOR * forward_flops(model)
    assert matmul_rate(256, repeats=2) > 0


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    import d2tl.model

    root = tmp_path_factory.mktemp("bench")
    cases = write_tiny_cases(root / "cases", n=12, rows=96, cols=80)
    settings = benchmark.Settings(sizes=(75,), epochs=1, repeats=2, batch_size=8, prep_size=75, quick_size=75)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(d2tl.model, "build_backbone", stub_backbone)
        result = benchmark.run(cases, settings, log=lambda line: None, parts=("memory", "throughput", "data"))
    benchmark.write(result, root / "out")
    return root, result


def test_benchmark_measures_and_writes_its_table(result):
    root, r = result
    (row,) = r["throughput"]
    assert row["input_px"] == 75 and row["own_patients_per_s"] > 0 and row["bare_patients_per_s"] > 0
    assert row["repeats"] == 2 and len(row["efficiency_per_repeat"]) == 2
    assert row["pipeline_efficiency"] == pytest.approx(sorted(row["efficiency_per_repeat"])[0] / 2
                                                       + sorted(row["efficiency_per_repeat"])[1] / 2)
    assert row["efficiency_per_repeat"][0] == pytest.approx(row["own_per_repeat"][0] / row["bare_per_repeat"][0])
    assert row["precise_bn_seconds"] > 0 and row["precise_bn_share_of_epoch"] > 0 and row["fit_setup_seconds"] >= 0
    assert 0 < row["mfu_own"] < 1
    assert r["data"]["paper_epoch_seconds"] > 0 and r["data"]["roi_cached_seconds"] < r["data"]["roi_seconds"]
    assert r["memory"]["model_arrays_mib"] > 0 and r["memory"]["prepare_peak_mib"] > 0
    text = (root / "out" / "benchmark.md").read_text()
    assert "pipeline efficiency, 75 px" in text and ">= 0.95" in text and "Machine:" in text
    assert "median of 2 interleaved repeat(s)" in text and "precise-BN pass, 75 px" in text
    saved = json.loads((root / "out" / "benchmark.json").read_text())
    assert saved["provenance"]["preset"] == "benchmark" and saved["provenance"]["paper_run"] is False
