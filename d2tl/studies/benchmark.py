"""Where the time goes: training throughput, model FLOP utilisation, the cached semi-tune path,
data preparation against an epoch, and peak memory, measured in one process.

``experiments/benchmark.py`` is the command; results go to ``results/benchmark/``.

- Throughput: patients (four images each) per second through the project's own training path
  (:func:`d2tl.training.loop.train_run`: one ``model.fit`` per run over the seeded batch source
  of :mod:`d2tl.training.batches`, with ``bn_stats=moving``; validation time, which the bare
  loop does not have, is measured by the callback and left out) against a bare
  ``train_on_batch`` loop over the same preloaded arrays and the same compiled model. Their
  ratio is the pipeline efficiency. The two loops are interleaved ``repeats`` times in one
  process (the first of each pair alternating), and the median and range are reported, since a
  shared machine's speed drifts. The first epoch of each, which traces the graph, is not timed.
  The precise-BN pass over the same training set is timed on its own, as a share of an epoch.
- Model FLOP utilisation: throughput x counted training FLOPs per patient
  (:mod:`d2tl.model.flops`) / the float32 matrix-multiply rate measured in the same process.
- Semi-tune: the same experiment through the end-to-end path and through cached backbone
  features (:mod:`d2tl.training.features`): wall time ratio and largest probability difference.
- Data preparation: cutting the ROIs (and reading them from the disk cache) and augmenting
  them (the paper's 5 alternatives), against one paper-preset training epoch at that size.
- Memory: the peak of Python/NumPy allocations while preparing a quick-preset experiment's
  data (tracemalloc), beside the ROI arrays' size and the decoded whole images' size, and the
  process's peak resident memory.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from ..training.config import ExperimentConfig, experiment_config
from ..protocol.paper import AUGMENTATION, DEFAULT_BOX, MIN_INPUT

NAMES = {"own": "d2tl training path", "bare": "bare train_on_batch loop"}


@dataclasses.dataclass
class Settings:
    sizes: tuple = (128, 256)  # model input sides for the throughput comparison
    epochs: int = 2  # timed epochs per path and repeat (after one untimed epoch; the first traces)
    repeats: int = 3  # interleaved repeats of the two loops, for the spread on a shared machine
    batch_size: int = 16
    alternatives: int = 1  # augmented copies in the throughput runs (per-patient rates do not depend on it)
    semi_runs: int = 2
    semi_epochs: int = 10
    semi_size: int = MIN_INPUT
    prep_size: int = 256  # input side of the data preparation measurement (paper: box 256, full size)
    quick_size: int = MIN_INPUT  # input side of the quick preset, for the memory measurement
    weights: str = "random"
    matmul_n: int = 2048


def machine() -> dict:
    import keras

    info = {"platform": platform.platform(), "processor": platform.processor() or None,
            "cpus": os.cpu_count(), "backend": keras.backend.backend()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from keras import distribution

        info["devices"] = [str(d) for d in distribution.list_devices()]
    except Exception:  # device listing is informative only
        info["devices"] = None
    info["load_average"] = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return info


def _config(size: int, settings: Settings, epochs: int, tuning: str = "full") -> ExperimentConfig:
    return experiment_config(model={"weights": settings.weights, "tuning": tuning},
                             roi={"box": DEFAULT_BOX, "input_scale": size / DEFAULT_BOX},
                             augment={"alternatives": settings.alternatives},
                             train={"runs": 1, "epochs": epochs, "batch_size": settings.batch_size},
                             preset="benchmark")


def throughput(table, cases_csv, size: int, settings: Settings, rate: float, weights, log=print) -> dict:
    """Own path vs bare ``train_on_batch`` at one input side, interleaved ``settings.repeats``
    times in this process (see the module docstring), and the precise-BN pass's cost."""
    from ..model.flops import train_flops_per_sample
    from ..training.data import one_hot, prepare_data, total_steps as steps_of
    from ..training.engine import Engine
    from ..training.loop import train_run

    config = _config(size, settings, epochs=settings.epochs + 1)
    data = prepare_data(table, config)
    n = len(data.train)
    engine = Engine()  # the bare loop reuses the own path's compiled (warm) model
    total_steps = steps_of(config, data)
    x, y = data.train.x, one_hot(data.train.y)
    bs = config.train.batch_size
    batches = [({k: v[i:i + bs] for k, v in x.items()}, y[i:i + bs]) for i in range(0, n, bs)]

    def own(repeat: int) -> tuple[float, dict, pd.DataFrame]:
        with tempfile.TemporaryDirectory() as tmp:
            summary = train_run(config, data, repeat, Path(tmp) / "run", weights=weights, engine=engine,
                                log=lambda line: log(f"  own path {size} px, repeat {repeat + 1}: {line}"))
            history = pd.read_csv(Path(tmp) / "run" / "history.csv")
        timed = history[history["epoch"] > 1]  # the first epoch (tracing in repeat 1) is not timed
        setups.append(summary["train_seconds"] - float(history["seconds"].sum()))  # fit's own, outside epochs
        return n * len(timed) / float(timed["train_seconds"].sum()), summary, history

    def bare() -> float:
        model, _ = engine.compiled_model(config, total_steps)
        for xb, yb in batches:  # untimed: the same first epoch the own path had
            model.train_on_batch(xb, yb)
        start = time.perf_counter()
        for _ in range(settings.epochs):
            for xb, yb in batches:
                model.train_on_batch(xb, yb)
        return n * settings.epochs / (time.perf_counter() - start)

    owns, bares, histories, setups = [], [], [], []
    for repeat in range(settings.repeats):  # alternate which loop goes first, so drift favours neither
        if repeat % 2:
            bares.append(bare())
        o, summary, history = own(repeat)
        owns.append(o)
        histories.append(history)
        if not repeat % 2:
            bares.append(bare())
        log(f"  {size} px repeat {repeat + 1}/{settings.repeats}: own {owns[-1]:.2f}/s, bare {bares[-1]:.2f}/s, "
            f"efficiency {owns[-1] / bares[-1]:.3f}")
    model, _ = engine.compiled_model(config, total_steps)
    stats = engine.precise_bn(model)
    stats.update(x, bs)  # untimed: traces the statistics pass
    bn_seconds = [stats.update(x, bs) for _ in range(2)]
    efficiency = [o / b for o, b in zip(owns, bares)]
    timed = pd.concat(histories)
    timed = timed[timed["epoch"] > 1]
    epoch_train = float(timed["train_seconds"].mean())
    flops = train_flops_per_sample(model)
    own_rate, bare_rate = float(np.median(owns)), float(np.median(bares))
    return {"input_px": size, "patients_per_epoch": n, "timed_epochs": settings.epochs, "repeats": settings.repeats,
            "own_patients_per_s": own_rate, "bare_patients_per_s": bare_rate,
            "pipeline_efficiency": float(np.median(efficiency)), "efficiency_per_repeat": efficiency,
            "own_per_repeat": owns, "bare_per_repeat": bares,
            "train_gflops_per_patient": flops / 1e9, "mfu_own": own_rate * flops / rate, "mfu_bare": bare_rate * flops / rate,
            "first_epoch_seconds": float(histories[0].loc[histories[0]["epoch"] == 1, "seconds"].iloc[0]),
            "own_epoch_train_seconds": epoch_train, "own_val_seconds": float(timed["val_seconds"].mean()),
            "fit_setup_seconds": float(np.median(setups[1:] or setups)),  # per run; warm repeats when there are
            "precise_bn_seconds": float(np.median(bn_seconds)),
            "precise_bn_share_of_epoch": float(np.median(bn_seconds)) / epoch_train,
            "test_accuracy": summary["test"]["accuracy"]}


def semi_tune(cases_csv, table, settings: Settings, weights, log=print) -> dict:
    """The semi-tune experiment end to end vs through cached backbone features."""
    from ..data.roi import extract_rois
    from ..training.experiment import run_experiment

    config = _config(settings.semi_size, settings, epochs=settings.semi_epochs, tuning="semi").replace(
        train={"runs": settings.semi_runs})
    rois = extract_rois(table, config.roi)  # both paths get the same arrays; cutting them is not compared
    from ..training.engine import Engine

    out, engine = {}, Engine()  # one engine for both paths, as one process
    with tempfile.TemporaryDirectory() as tmp:
        for name, cached in (("end_to_end", False), ("cached", True)):
            start = time.perf_counter()
            metrics = run_experiment(config, cases_csv, Path(tmp) / name, weights,
                                     log=lambda l: log(f"  semi {name}: {l}"),
                                     table=table, rois=rois, feature_cache=cached, engine=engine)
            seconds = time.perf_counter() - start
            predictions = pd.read_csv(Path(metrics["directory"]) / "predictions.csv")
            history = pd.read_csv(Path(metrics["directory"]) / "history.csv")
            runs = [json.loads(f.read_text()) for f in sorted(Path(metrics["directory"]).glob("run_*/summary.json"))]
            later = history[history["epoch"] > 1]  # the first epoch of a process may include tracing
            out[name] = {"seconds": seconds, "p": predictions["p_malignant"].to_numpy(),
                         "train_seconds": metrics["train_seconds"], "history": history,
                         "selected_epoch": metrics["selected"]["epoch"],
                         "epoch_seconds": float(later["seconds"].mean()),
                         "feature_seconds": float(np.mean([r.get("feature_seconds", 0.0) for r in runs]))}
    e, c = out["end_to_end"], out["cached"]
    loss_diff = float(np.max(np.abs(e["history"]["loss"].to_numpy() - c["history"]["loss"].to_numpy())))
    # The paper's protocol, 10 runs x 100 epochs, from these per-epoch and per-feature-pass times:
    # with ImageNet (or file) weights every run shares one feature pass; random weights need one per run.
    from ..protocol.paper import EPOCHS, RUNS

    paper_e2e = RUNS * EPOCHS * e["epoch_seconds"]
    paper_cached = {w: passes * c["feature_seconds"] + RUNS * EPOCHS * c["epoch_seconds"]
                    for w, passes in (("imagenet", 1), ("random", RUNS))}
    return {"input_px": settings.semi_size, "epochs": settings.semi_epochs, "runs": settings.semi_runs,
            "end_to_end_epoch_seconds": e["epoch_seconds"], "cached_epoch_seconds": c["epoch_seconds"],
            "feature_pass_seconds": c["feature_seconds"],
            "paper_protocol_speedup": {w: paper_e2e / v for w, v in paper_cached.items()},
            "end_to_end_seconds": e["seconds"], "cached_seconds": c["seconds"],
            "end_to_end_train_seconds": e["train_seconds"], "cached_train_seconds": c["train_seconds"],
            "speedup": e["seconds"] / c["seconds"], "train_speedup": e["train_seconds"] / c["train_seconds"],
            "max_probability_difference": float(np.max(np.abs(e["p"] - c["p"]))),
            "max_loss_difference": loss_diff,
            "same_selected_epoch": e["selected_epoch"] == c["selected_epoch"]}


def data_preparation(cases_csv, table, settings: Settings, epoch_seconds: float | None, log=print) -> dict:
    """ROI cutting (fresh and from the disk cache) and paper augmentation at ``prep_size``."""
    from ..data.augment import AugmentConfig, augment_cases
    from ..data.roi import RoiConfig
    from ..data.roi_cache import RoiCache
    from ..data.split import split_cases

    roi = RoiConfig(box=DEFAULT_BOX, input_scale=settings.prep_size / DEFAULT_BOX)
    with tempfile.TemporaryDirectory() as tmp:
        cache = RoiCache(tmp, cases_csv, table)
        start = time.perf_counter()
        rois = cache.get(roi)
        cut = time.perf_counter() - start
        start = time.perf_counter()
        RoiCache(tmp, cases_csv, table).get(roi)
        cached = time.perf_counter() - start
    parts = split_cases(table, seed=0)
    start = time.perf_counter()
    n_aug = 0
    for i, part in enumerate(("train", "val")):
        subset = rois.subset(list(table["id"][parts == part]))
        x, _, _ = augment_cases(subset.arrays, subset.labels, AugmentConfig(), seed=i)
        n_aug += len(next(iter(x.values())))
    augment = time.perf_counter() - start
    out = {"input_px": roi.input_size, "cases": len(table), "roi_seconds": cut, "roi_cached_seconds": cached,
           "augment_seconds": augment, "augmented_samples": n_aug,
           "alternatives": AUGMENTATION["alternatives"], "paper_epoch_seconds": epoch_seconds}
    if epoch_seconds:
        out["share_of_epoch_fresh"] = (cut + augment) / epoch_seconds
        out["share_of_epoch_cached"] = (cached + augment) / epoch_seconds
    return out


def memory(cases_csv, table, settings: Settings) -> dict:
    """Peak NumPy/Python allocation while preparing a quick-preset experiment's data."""
    from ..data.images import image_size
    from ..training.data import prepare_data
    from ..protocol.views import IMAGES

    config = _config(settings.quick_size, dataclasses.replace(settings, alternatives=1), epochs=1)
    tracemalloc.start()
    data = prepare_data(table, config)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    held = sum(a.x[k].nbytes for a in (data.train, data.val, data.test) for k in a.x)
    whole = 0
    for _, row in table.iterrows():
        for key in IMAGES:
            rows, cols = image_size(row[f"{key}_path"])
            whole += rows * cols * 4
    return {"input_px": config.roi.input_size, "prepare_peak_mib": peak / 2**20,
            "model_arrays_mib": held / 2**20, "whole_images_float32_mib": whole / 2**20,
            "process_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run(cases_csv, settings: Settings, log=print, parts=("throughput", "semi", "data", "memory")) -> dict:
    from ..data.cases import load_cases
    from ..model.flops import matmul_rate

    from ..training.run_folder import resolve_weights

    table = load_cases(cases_csv)
    weights = resolve_weights(settings.weights)  # once, for every part (the command's one resolution)
    result = {"machine": machine(), "settings": dataclasses.asdict(settings)}
    start = time.perf_counter()
    rate = matmul_rate(settings.matmul_n)
    result["matmul_gflops"] = rate / 1e9
    log(f"float32 matmul ({settings.matmul_n}^2): {rate / 1e9:.1f} GFLOP/s")
    if "memory" in parts:  # first, before training inflates the process
        result["memory"] = memory(cases_csv, table, settings)
        log(f"memory: {result['memory']}")
    if "throughput" in parts:
        result["throughput"] = []
        for size in settings.sizes:
            row = throughput(table, cases_csv, size, settings, rate, weights, log)
            result["throughput"].append(row)
            log(f"throughput {size} px: own {row['own_patients_per_s']:.2f}/s, bare {row['bare_patients_per_s']:.2f}/s, "
                f"efficiency {row['pipeline_efficiency']:.3f}, MFU {row['mfu_own']:.1%}")
    if "semi" in parts:
        result["semi"] = semi_tune(cases_csv, table, settings, weights, log)
        log(f"semi-tune: {result['semi']}")
    if "data" in parts:
        epoch = None
        rows = [r for r in result.get("throughput", []) if r["input_px"] == settings.prep_size]
        if rows:  # one paper-preset epoch at this size: 5 alternatives of the training cases
            from ..data.split import split_cases

            n_train = int((split_cases(table, seed=0) == "train").sum()) * AUGMENTATION["alternatives"]
            epoch = n_train / rows[0]["own_patients_per_s"]
        result["data"] = data_preparation(cases_csv, table, settings, epoch, log)
        log(f"data preparation: {result['data']}")
    result["seconds"] = time.perf_counter() - start
    result["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return result


def table_rows(result: dict) -> list[dict]:
    """The benchmark's table: one row per measured quantity, with its goal and whether it is met."""
    rows = []
    for r in result.get("throughput", []):
        s = r["input_px"]
        rows.append({"quantity": f"training throughput, dual-mode full-tune, {s} px (patients/s)",
                     "value": f"own {r['own_patients_per_s']:.2f}, bare {r['bare_patients_per_s']:.2f}",
                     "goal": "", "met": ""})
        spread = r["efficiency_per_repeat"]
        rows.append({"quantity": f"pipeline efficiency, {s} px (own / bare; median of {len(spread)} interleaved "
                                 f"repeat(s), range)",
                     "value": f"{r['pipeline_efficiency']:.3f} ({min(spread):.3f}-{max(spread):.3f})",
                     "goal": ">= 0.95", "met": _yes(r["pipeline_efficiency"] >= 0.95)})
        rows.append({"quantity": f"precise-BN pass, {s} px, whole training set (share of one training epoch); "
                                 "fit's setup per run",
                     "value": f"{r['precise_bn_seconds']:.2f} s ({r['precise_bn_share_of_epoch']:.1%} of "
                              f"{r['own_epoch_train_seconds']:.1f} s); setup {r['fit_setup_seconds']:.2f} s",
                     "goal": "", "met": ""})
        rows.append({"quantity": f"model FLOP utilisation, {s} px ({r['train_gflops_per_patient']:.1f} GFLOP "
                                 f"per patient step / {result['matmul_gflops']:.0f} GFLOP/s matmul)",
                     "value": f"{r['mfu_own']:.1%} (bare {r['mfu_bare']:.1%})", "goal": "", "met": ""})
    semi = result.get("semi")
    if semi:
        rows.append({"quantity": f"semi-tune, {semi['input_px']} px, {semi['runs']} runs x {semi['epochs']} epochs: end-to-end / cached "
                                 "features wall time",
                     "value": f"{semi['speedup']:.1f}x ({semi['end_to_end_seconds']:.1f} s / {semi['cached_seconds']:.1f} s; "
                              f"training only {semi['train_speedup']:.1f}x)",
                     "goal": ">= 20x", "met": _yes(semi["speedup"] >= 20)})
        proj = semi["paper_protocol_speedup"]
        rows.append({"quantity": f"semi-tune, {semi['input_px']} px: per epoch end-to-end / cached "
                                 "(feature pass once per run); projected for 10 runs x 100 epochs",
                     "value": f"{semi['end_to_end_epoch_seconds']:.2f} s / {semi['cached_epoch_seconds']:.2f} s "
                              f"(+{semi['feature_pass_seconds']:.1f} s features); projected {proj['imagenet']:.0f}x "
                              f"(ImageNet: one feature pass), {proj['random']:.0f}x (random: one per run)",
                     "goal": ">= 20x", "met": _yes(min(proj.values()) >= 20)})
        rows.append({"quantity": "semi-tune: largest difference in predicted probability",
                     "value": f"{semi['max_probability_difference']:.2e}", "goal": "< 1e-5",
                     "met": _yes(semi["max_probability_difference"] < 1e-5)})
    data = result.get("data")
    if data:
        value = (f"ROIs {data['roi_seconds']:.1f} s (from cache {data['roi_cached_seconds']:.2f} s) + augmentation "
                 f"{data['augment_seconds']:.1f} s, {data['cases']} cases at {data['input_px']} px")
        if data.get("paper_epoch_seconds"):
            value += (f"; paper epoch {data['paper_epoch_seconds']:.0f} s -> {data['share_of_epoch_fresh']:.1%} "
                      f"fresh, {data['share_of_epoch_cached']:.1%} cached")
            met = _yes(data["share_of_epoch_cached"] < 0.05)
        else:
            met = ""
        rows.append({"quantity": "data preparation vs one training epoch", "value": value, "goal": "< 5%", "met": met})
    mem = result.get("memory")
    if mem:
        rows.append({"quantity": f"peak memory preparing a quick-preset experiment ({mem['input_px']} px)",
                     "value": f"{mem['prepare_peak_mib']:.0f} MiB peak allocations; model arrays "
                              f"{mem['model_arrays_mib']:.0f} MiB; all whole images would be "
                              f"{mem['whole_images_float32_mib']:.0f} MiB; process peak RSS "
                              f"{mem['process_peak_rss_mib']:.0f} MiB",
                     "goal": "ROI arrays held, not whole images",
                     "met": _yes(mem["prepare_peak_mib"] < 0.25 * mem["whole_images_float32_mib"])})
    return rows


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def markdown(result: dict) -> str:
    m = result["machine"]
    rows = table_rows(result)
    lines = [f"Machine: {m.get('cpu_model') or m.get('processor')}, {m['cpus']} CPUs, Keras backend {m['backend']}, "
             f"devices {m.get('devices')}; load average {m.get('load_average')} -> {m.get('load_average_end')}; "
             f"float32 matmul {result['matmul_gflops']:.1f} GFLOP/s; {result['seconds'] / 60:.1f} min in all.", "",
             "| quantity | value | goal | met |", "|---|---|---|---|"]
    lines += [f"| {r['quantity']} | {r['value']} | {r['goal']} | {r['met']} |" for r in rows]
    return "\n".join(lines) + "\n"


def write(result: dict, out) -> None:
    from ..io.atomic import atomic_path, write_text
    from ..io.provenance import provenance, write_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "benchmark.csv") as tmp:
        pd.DataFrame(table_rows(result)).to_csv(tmp, index=False)
    write_text(out / "benchmark.md", "# Benchmark\n\n" + markdown(result))
    clean = json.loads(json.dumps(result, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))
    write_json(out / "benchmark.json", {**clean, "provenance": provenance(
        config=result["settings"], seed=0, preset="benchmark", weights_source=result["settings"]["weights"])})
