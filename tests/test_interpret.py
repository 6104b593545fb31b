"""Interpretation (Sec. 3.4, 4.5): eq. (1), eq. (2), Grad-CAM, the inside-lesion check, figures,
the explain command and the experiment, on tiny models (one test builds a real InceptionV3)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from d2tl.cli import main  # noqa: E402
from d2tl.training.config import experiment_config  # noqa: E402
from d2tl.data.cases import load_cases, write_cases  # noqa: E402
from d2tl.data.roi import RoiConfig, extract_case  # noqa: E402
from d2tl.io.errors import D2TLError  # noqa: E402
from d2tl.interpret import figures  # noqa: E402
from d2tl.interpret.gradcam import check_gradcam_model, grad_cam, gradcam_model, upsample  # noqa: E402
from d2tl.interpret.influence import pixel_influence  # noqa: E402
from d2tl.interpret.inputs import CaseInputs, case_inputs  # noqa: E402
from d2tl.interpret.lesion_check import lesion_share, pooled_share  # noqa: E402
from d2tl.interpret.representation import RepresentationConfig, class_representations  # noqa: E402
from d2tl.protocol.views import IMAGES  # noqa: E402
from d2tl.training.run_folder import resolve_weights

PNG = b"\x89PNG\r\n\x1a\n"
# Keras's own model.save trips NumPy 2's __array__ copy deprecation; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def tiny_model(size: int = 8, connected=("le_cc", "rec_cc", "rec_mlo"), seed: int = 0):
    """Four named inputs; only ``connected`` reach the 2-class softmax."""
    inputs = {k: keras.Input((size, size, 1), name=k) for k in IMAGES}
    flat = [layers.Flatten()(inputs[k]) for k in connected]
    x = layers.Concatenate()(flat) if len(flat) > 1 else flat[0]
    x = layers.Dense(6, activation="tanh", kernel_initializer=keras.initializers.GlorotUniform(seed))(x)
    out = layers.Dense(2, activation="softmax", name="output",
                       kernel_initializer=keras.initializers.GlorotUniform(seed + 1))(x)
    return keras.Model(inputs, out)


def tiny_backbone(input_size, weights, name):
    """Stands in for InceptionV3 in d2tl.model.build_model: a nested model with a "mixed10" layer."""
    inp = keras.Input((input_size, input_size, 3))
    x = layers.Conv2D(4, 5, strides=4, activation="relu", kernel_initializer=keras.initializers.HeNormal(1))(inp)
    x = layers.Conv2D(6, 3, strides=2, activation="relu", name="mixed10",
                      kernel_initializer=keras.initializers.HeNormal(2))(x)
    return keras.Model(inp, layers.GlobalAveragePooling2D()(x), name=name)


@pytest.fixture(scope="module")
def d2tl_tiny(tmp_path_factory):
    """A d2tl-graph model (build_model, dual_mode) with tiny backbones, saved as a trained model."""
    import d2tl.model as model_module

    config = experiment_config(model={"weights": "random"}, roi={"box": 256, "input_scale": 0.3}, preset="quick")
    original = model_module.build_backbone
    model_module.build_backbone = tiny_backbone
    try:
        model, _ = model_module.build_model(config.model, resolve_weights(config.model.weights))
    finally:
        model_module.build_backbone = original
    folder = tmp_path_factory.mktemp("trained")
    model.save(folder / "model.keras")
    (folder / "model.d2tl.json").write_text(json.dumps({"config": config.to_dict(), "weights_source": ["random"],
                                                        "selected_run": 0, "selected_epoch": 1}))
    return model, folder / "model.keras", config


# ------------------------------------------------------------------------------- eq. (2)

def test_influence_of_an_unconnected_input_is_exactly_zero_and_matches_finite_differences():
    model = tiny_model()
    rng = np.random.default_rng(0)
    x = {k: rng.uniform(size=(3, 8, 8, 1)).astype(np.float32) for k in IMAGES}
    w, score = pixel_influence(model, x)
    assert set(w) == set(IMAGES) and all(w[k].shape == (3, 8, 8) for k in IMAGES)
    assert np.all(w["le_mlo"] == 0.0)
    assert all(np.abs(w[k]).sum() > 0 for k in ("le_cc", "rec_cc", "rec_mlo"))
    np.testing.assert_allclose(score, np.asarray(model(x))[:, 1], rtol=1e-6)
    # eq. (2) is the gradient: compare with central differences at a few pixels of case 1
    x64 = {k: v.astype(np.float64) for k, v in x.items()}
    for key, (r, c) in (("rec_cc", (2, 5)), ("le_cc", (7, 0))):
        eps = 1e-2
        plus, minus = {k: v.copy() for k, v in x64.items()}, {k: v.copy() for k, v in x64.items()}
        plus[key][1, r, c, 0] += eps
        minus[key][1, r, c, 0] -= eps
        numeric = (np.asarray(model(plus))[1, 1] - np.asarray(model(minus))[1, 1]) / (2 * eps)
        assert w[key][1, r, c] == pytest.approx(numeric, rel=2e-2, abs=1e-5)
    # a single case given as (s, s) images gives the same maps as within the batch
    single, _ = pixel_influence(model, {k: v[1, :, :, 0] for k, v in x.items()})
    np.testing.assert_allclose(single["rec_cc"][0], w["rec_cc"][1], rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------------------- eq. (1)

@pytest.mark.parametrize("parametrisation,optimizer,step", [("clip", "adam", 0.05), ("sigmoid", "adam", 0.05),
                                                           ("clip", "normalised", 0.05), ("clip", "sgd", 0.5)])
def test_class_representation_lowers_the_loss_and_stays_in_range(parametrisation, optimizer, step):
    model = tiny_model()
    lam = 1e-3
    rep = class_representations(model, RepresentationConfig(lam=lam, steps=40, step_size=step, optimizer=optimizer,
                                                            parametrisation=parametrisation))
    start, final = rep.history[rep.history["step"] == 0], rep.final()
    assert list(final["target"]) == [0.0, 1.0]
    assert np.all(final["loss"].to_numpy() < start["loss"].to_numpy())
    benign, malignant = final["score"]
    assert benign < start["score"].iloc[0] < malignant  # each set moved towards its class
    for k in IMAGES:
        assert rep.images[k].shape == (2, 8, 8)
        assert rep.images[k].min() >= 0.0 and rep.images[k].max() <= 1.0
    # the loss is eq. (1): (y - f)^2 + lambda * sum of squares of the four images in the network's
    # input space (2I - 1, where mid-grey is 0)
    sq = sum(float(np.sum((2 * rep.images[k][1].astype(np.float64) - 1) ** 2)) for k in IMAGES)
    assert final["reg"].iloc[1] == pytest.approx(lam * sq, rel=1e-4)
    assert final["data"].iloc[1] == pytest.approx((1 - final["score"].iloc[1]) ** 2, rel=1e-4)
    # an input the model ignores only feels the regulariser, which is zero at mid-grey: it stays there
    np.testing.assert_allclose(rep.images["le_mlo"], 0.5, atol=1e-6)


def test_eq1_parametrisation_and_update_steps_alone():
    from keras import ops

    from d2tl.interpret.representation import _parametrised, _update
    from d2tl.interpret.gradients import numpy as to_numpy

    start = np.array([[[[0.0, 0.25], [0.5, 1.0]]]], np.float32)
    param, to_image = _parametrised(start, "sigmoid")
    np.testing.assert_allclose(to_numpy(to_image(param)), np.clip(start, 1e-3, 1 - 1e-3), atol=1e-6)
    param, to_image = _parametrised(start, "clip")
    assert to_image(param) is param
    grad = ops.convert_to_tensor(np.array([[[[0.5, -2.0], [0.0, 1.0]]]], np.float32))
    zeros = (ops.zeros_like(grad), ops.zeros_like(grad))
    adam, (m, v) = _update("adam", grad, zeros, 0)
    np.testing.assert_allclose(to_numpy(adam), [[[[1, -1], [0, 1]]]], atol=1e-5)  # first Adam step: sign(g)
    assert np.any(to_numpy(m)) and np.any(to_numpy(v))
    normalised, kept = _update("normalised", grad, zeros, 3)
    np.testing.assert_allclose(to_numpy(normalised), [[[[0.25, -1], [0, 0.5]]]], atol=1e-6)
    assert kept is zeros and _update("sgd", grad, zeros, 3)[0] is grad


def test_pixel_space_penalty_pulls_towards_black():
    model = tiny_model()
    lam = 1e-3
    rep = class_representations(model, RepresentationConfig(lam=lam, steps=40, step_size=0.05, penalty="pixel"))
    final = rep.final()
    sq = sum(float(np.sum(rep.images[k][1].astype(np.float64) ** 2)) for k in IMAGES)
    assert final["reg"].iloc[1] == pytest.approx(lam * sq, rel=1e-4)
    assert rep.images["le_mlo"].max() < 0.5  # the ignored input darkens from grey
    with pytest.raises(D2TLError, match="penalty"):
        RepresentationConfig(penalty="black")


def test_class_representation_larger_lambda_smaller_norm():
    model = tiny_model()
    norms = []
    for lam in (0.0, 1e-3, 1e-2, 1e-1):
        rep = class_representations(model, RepresentationConfig(lam=lam, steps=60, step_size=0.05))
        norms.append(sum(float(np.sum((2 * rep.images[k] - 1) ** 2)) for k in IMAGES))
    assert all(a > b for a, b in zip(norms, norms[1:])), norms
    with pytest.raises(D2TLError, match="start"):
        RepresentationConfig(start="somewhere")
    with pytest.raises(D2TLError, match="mean_images"):
        class_representations(model, RepresentationConfig(start="mean", steps=1))


# --------------------------------------------------------------------------------- check

def test_lesion_share_on_a_crafted_map_equals_the_hand_computed_value():
    heat = np.ones((4, 4))
    heat[1, 1] = heat[1, 2] = 5.0  # two hot pixels, both inside
    heat[3, 3] = 3.0  # one warm pixel, outside
    mask = np.zeros((4, 4))
    mask[0:2, 0:3] = 1.0  # six lesion pixels (three of them only half lesion, below)
    mask[0, 0:3] = 0.5
    # inside: 0.5 * (1 + 1 + 1) + 1 * (1 + 5 + 5) = 12.5; total = 13 * 1 + 5 + 5 + 3 = 26
    share, area = lesion_share(heat, mask)
    assert share == pytest.approx(12.5 / 26)
    assert area == pytest.approx(4.5 / 16)
    maps = {k: heat if k == "rec_cc" else np.zeros((4, 4)) for k in IMAGES}
    masks = {k: mask for k in IMAGES}
    share, area = pooled_share(maps, masks)
    assert share == pytest.approx(12.5 / 26) and area == pytest.approx(4.5 / 16)
    assert np.isnan(lesion_share(np.zeros((4, 4)), mask)[0])
    with pytest.raises(D2TLError, match="non-negative"):
        lesion_share(-heat, mask)


def _case_with_mask_as_image(folder, laterality):
    """A case whose recombined images are its lesion masks (so their ROIs must equal the ROI masks)."""
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    rec = {"id": "M1", "group": "M1", "label": "malignant", "laterality": laterality, "scale": 0.5}
    for view, (cx, cy) in (("cc", (30, 50)), ("mlo", (70, 20))):  # boxes near edges: padding
        mask = np.zeros((90, 110), np.uint8)
        mask[cy - 6:cy + 9, cx - 10:cx + 4] = 255
        mask[cy + 2:cy + 5, cx + 4:cx + 12] = 255
        Image.fromarray(mask).save(folder / f"{view}_mask.png")
        Image.fromarray(mask).save(folder / f"rec_{view}.png")
        Image.fromarray(rng.integers(1, 255, (90, 110), dtype=np.uint8)).save(folder / f"le_{view}.png")
        rec.update({f"le_{view}_path": str(folder / f"le_{view}.png"), f"rec_{view}_path": str(folder / f"rec_{view}.png"),
                    f"{view}_mask_path": str(folder / f"{view}_mask.png"), f"{view}_x": cx, f"{view}_y": cy})
    write_cases(pd.DataFrame([rec]), folder / "cases.csv")
    return load_cases(folder / "cases.csv").iloc[0]


@pytest.mark.parametrize("laterality,box,scale", [("L", 64, 1.0), ("R", 256, 0.3)])
def test_lesion_mask_is_cut_and_resized_like_the_roi(tmp_path, laterality, box, scale):
    row = _case_with_mask_as_image(tmp_path / laterality, laterality)
    config = RoiConfig(box=box, input_scale=scale)
    case = case_inputs(row, config)
    rois = extract_case(row, config)
    for key in IMAGES:
        np.testing.assert_array_equal(case.images[key], rois[key])
        assert case.masks[key].shape == (config.input_size, config.input_size)
    for view in ("cc", "mlo"):
        np.testing.assert_allclose(case.masks[f"rec_{view}"], case.images[f"rec_{view}"], atol=1e-5)
        assert 0 < case.masks[f"le_{view}"].mean() < 1
        assert case.masks[f"le_{view}"] is case.masks[f"rec_{view}"]


# ------------------------------------------------------------------------------ Grad-CAM

def test_gradcam_model_reproduces_the_d2tl_model_and_gives_maps(d2tl_tiny):
    model, _, config = d2tl_tiny
    s = config.roi.input_size
    rng = np.random.default_rng(1)
    x = {k: rng.uniform(size=(2, s, s, 1)).astype(np.float32) for k in IMAGES}
    cam_model = gradcam_model(model)
    assert check_gradcam_model(model, cam_model, x) < 1e-5
    maps, score, shapes = grad_cam(cam_model, x)
    np.testing.assert_allclose(score, np.asarray(model(x, training=False))[:, 1], atol=1e-6)
    for key in IMAGES:
        assert maps[key].shape == (2, s, s) and maps[key].min() >= 0.0
        assert shapes[key] == tuple(cam_model.outputs[1].shape[1:3])
    # by hand for one image: ReLU(sum_k mean(dF/dA_k) A_k), upsampled
    import tensorflow as tf

    xt = {k: tf.constant(v) for k, v in x.items()}
    with tf.GradientTape() as tape:
        out, *features = cam_model(xt, training=False)
        total = tf.reduce_sum(out[:, 1])
    grads = tape.gradient(total, features[2])
    alpha = grads.numpy().mean(axis=(1, 2))
    cam = np.maximum(np.einsum("nhwk,nk->nhw", features[2].numpy(), alpha), 0)
    np.testing.assert_allclose(maps["rec_cc"][0], upsample(cam[0], s), rtol=1e-4, atol=1e-7)
    with pytest.raises(D2TLError, match="no layer"):
        gradcam_model(model, "mixed99")
    with pytest.raises(D2TLError, match="build_model"):
        gradcam_model(tiny_model())


@pytest.mark.parametrize("architecture", ["simple_pooling", "separate"])
def test_gradcam_model_follows_the_other_architectures(architecture, monkeypatch):
    import d2tl.model
    from d2tl.model import ModelConfig, build_model

    monkeypatch.setattr(d2tl.model, "build_backbone", tiny_backbone)
    model, _ = build_model(ModelConfig(architecture=architecture, input_size=75, weights="random"), resolve_weights("random"))
    rng = np.random.default_rng(4)
    x = {k: rng.uniform(size=(2, 75, 75, 1)).astype(np.float32) for k in IMAGES}
    cam_model = gradcam_model(model)
    assert check_gradcam_model(model, cam_model, x) < 1e-5
    maps, _, _ = grad_cam(cam_model, x)
    assert all(maps[k].shape == (2, 75, 75) for k in IMAGES)


@pytest.mark.slow
def test_real_inceptionv3_gradcam_at_75_px():
    """The one test with real InceptionV3s (random weights): the split reproduces the model."""
    from d2tl.model import ModelConfig, build_model

    model, _ = build_model(ModelConfig(input_size=75, weights="random"), resolve_weights("random"))
    rng = np.random.default_rng(2)
    x = {k: rng.uniform(size=(1, 75, 75, 1)).astype(np.float32) for k in IMAGES}
    for layer, side in (("mixed10", 1), ("mixed2", 7)):
        cam_model = gradcam_model(model, layer)
        assert check_gradcam_model(model, cam_model, x) < 1e-5
        maps, _, shapes = grad_cam(cam_model, x)
        assert shapes["le_cc"] == (side, side)
        assert all(maps[k].shape == (1, 75, 75) for k in IMAGES)
    w, _ = pixel_influence(model, x)
    assert all(np.isfinite(w[k]).all() and np.abs(w[k]).sum() > 0 for k in IMAGES)


# ------------------------------------------------- figures, command, experiment (tiny model)

def test_figures_are_written(tmp_path):
    model = tiny_model()
    rep = class_representations(model, RepresentationConfig(steps=3))
    out = figures.plot_representations(rep, tmp_path / "fig11.png")
    assert out.read_bytes()[:8] == PNG
    rng = np.random.default_rng(0)
    images = {k: rng.uniform(size=(8, 8)).astype(np.float32) for k in IMAGES}
    mask = np.zeros((8, 8), np.float32)
    mask[2:5, 3:6] = 1
    case = CaseInputs("P1", "benign", images, {k: mask for k in IMAGES})
    w, score = pixel_influence(model, images)
    for kind in ("influence", "gradcam"):
        path = figures.plot_maps(case, {k: np.abs(w[k][0]) for k in IMAGES}, tmp_path / f"{kind}.png", kind,
                                   float(score[0]))
        assert path.read_bytes()[:8] == PNG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig11.png", "gradcam.png", "influence.png"]


def test_explain_command_writes_the_overlays(d2tl_tiny, tiny_cases, tmp_path, capsys):
    _, model_path, _ = d2tl_tiny
    out = tmp_path / "explain"
    assert main(["explain", "--model", str(model_path), "--cases", str(tiny_cases), "--id", "C01",
                 "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["explain.json", "gradcam_mixed10_malignant_C01.png", "influence_malignant_C01.png", "maps.npz"]
    record = json.loads((out / "explain.json").read_text())
    assert record["id"] == "C01" and 0 <= record["p_malignant"] <= 1
    assert set(record["lesion_shares"]) == {"influence", "gradcam_mixed10"}
    assert 0 < record["lesion_shares"]["influence"]["area_share"] < 1
    maps = np.load(out / "maps.npz")
    assert maps["influence_rec_cc"].shape == (77, 77)
    assert "malignant score" in capsys.readouterr().out
    assert main(["explain", "--model", str(model_path), "--cases", str(tiny_cases), "--id", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err


def test_interpretation_experiment_writes_figures_table_and_provenance(d2tl_tiny, tiny_cases, tmp_path, monkeypatch):
    import d2tl.model
    from d2tl.interpret.experiment import find_default_model, run_interpretation

    monkeypatch.setattr(d2tl.model, "build_backbone", tiny_backbone)  # the untrained control, tiny too
    from d2tl.training.default_result import default_folder

    _, model_path, _ = d2tl_tiny
    runs = default_folder(tiny_cases, "quick", tmp_path / "runs")  # found by the default configuration's hash
    runs.mkdir(parents=True)
    for name in ("model.keras", "model.d2tl.json"):
        (runs / name).write_bytes((model_path.parent / name).read_bytes())
    pd.DataFrame({"id": ["C00", "C01", "C02", "C03"], "label": ["benign", "malignant"] * 2,
                  "p_malignant": [0.3, 0.6, 0.1, 0.9], "predicted": ["benign", "malignant"] * 2}
                 ).to_csv(runs / "predictions.csv", index=False)
    assert find_default_model(tmp_path / "runs", "quick", tiny_cases) == runs / "model.keras"
    with pytest.raises(D2TLError, match=runs.name):
        find_default_model(tmp_path / "nothing", "quick", tiny_cases)
    out = tmp_path / "interp"
    summary = run_interpretation(None, tiny_cases, out, "quick", runs_root=tmp_path / "runs", layers=("mixed10",),
                                 representation=RepresentationConfig(steps=4), log=lambda line: None)
    assert summary["patients"] == {"benign": "C02", "malignant": "C03"}  # most confidently correct
    names = {p.name for p in out.iterdir()}
    assert {"class_representations.png", "influence_benign_C02.png", "influence_malignant_C03.png",
            "gradcam_mixed10_benign_C02.png", "gradcam_mixed10_malignant_C03.png", "lesion_shares.csv", "lesion_shares.md", "summary.json",
            "provenance.json"} <= names
    shares = pd.read_csv(out / "lesion_shares.csv")
    assert len(shares) == 4 and summary["shares"]["n_cases"] == 4
    assert np.allclose(shares["influence_ratio"], shares["influence_share"] / shares["area_share"])
    assert {"untrained_influence_share", "untrained_gradcam_mixed10_share"} <= set(shares.columns)
    assert summary["control_weights"] == "random"
    markdown = (out / "lesion_shares.md").read_text()
    assert "| untrained_influence |" in markdown and "| lesion area |" in markdown
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["preset"] == "quick" and provenance["paper_run"] is False
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_interpretation_steps_alone(monkeypatch):
    from d2tl.interpret import experiment
    from d2tl.interpret.experiment import Maps, _score_gap, _timed, add_untrained_control

    scored = pd.DataFrame({"id": ["A", "B"], "p_malignant": [0.2, 0.9]})
    recorded = pd.DataFrame({"id": ["B", "C", "A"], "p_malignant": [0.8, 0.0, 0.25]})
    assert _score_gap(scored, recorded) == pytest.approx(0.1)  # matched by id, not by row
    seconds = {}
    with pytest.raises(ValueError), _timed(seconds, "step"):
        raise ValueError
    assert seconds["step"] >= 0  # timed even when the step fails

    def refuse(info, seed):
        raise D2TLError("no sidecar config")

    monkeypatch.setattr(experiment, "untrained_model", refuse)
    maps, lines = Maps(expl=None, n=0, chosen={}, methods={"influence": {}}, evaluated="all cases"), []
    assert add_untrained_control(maps, {}, 0, ("mixed10",), lines.append) is None
    assert lines == ["no untrained control: no sidecar config"] and list(maps.methods) == ["influence"]


def test_old_sidecars_keep_the_whole_image_normalisation_they_were_trained_with():
    import dataclasses

    from d2tl.interpret.inputs import roi_config_for

    if "normalise_on" not in {f.name for f in dataclasses.fields(RoiConfig)}:
        pytest.skip("RoiConfig has no normalise_on")
    old = {"config": {"roi": {"box": 256, "shift": 0.0, "input_scale": 0.3, "intensity_percentiles": [0.0, 100.0],
                              "recombine_weight": 0.5, "input_size": 77}}}
    assert roi_config_for(old).normalise_on == "image"
    new = {"config": {"roi": {**old["config"]["roi"], "normalise_on": "breast"}}}
    assert roi_config_for(new).normalise_on == "breast"


def test_score_gap_compares_only_the_cases_training_recorded():
    """--all-cases scores every case; predictions.csv holds only the test cases."""
    import pandas as pd

    from d2tl.interpret.experiment import _score_gap

    scored = pd.DataFrame({"id": ["a", "b", "c"], "p_malignant": [0.2, 0.7, 0.9]})
    recorded = pd.DataFrame({"id": ["b"], "p_malignant": [0.5]})
    assert _score_gap(scored, recorded) == pytest.approx(0.2)
    assert _score_gap(scored, pd.DataFrame({"id": ["z"], "p_malignant": [0.1]})) == 0.0
