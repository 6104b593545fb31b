from d2tl.io.provenance import config_hash, dataset_info, package_versions, provenance, write_json

import json


def test_config_hash_ignores_key_order_and_sees_values():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert len(config_hash({})) == 12


def test_provenance_marks_reduced_presets(tmp_path, tiny_cases):
    quick = provenance(config={"box": 256}, seed=0, preset="quick", weights_source="random",
                       dataset=dataset_info(tiny_cases))
    assert quick["paper_run"] is False and "not comparable" in quick["note"]
    assert quick["weights_source"] == "random" and quick["dataset"]["cases_sha256"]
    paper = provenance(config={"box": 256}, seed=0, preset="paper")
    assert paper["paper_run"] is True and paper["note"] is None
    assert {"numpy", "pydicom", "python"} <= set(package_versions())
    write_json(tmp_path / "p.json", quick)
    assert json.loads((tmp_path / "p.json").read_text())["config"] == {"box": 256}
