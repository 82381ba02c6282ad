"""Smoke tests of the gallery (examples/): each script runs with --quick in a child process that
imports the same nnc as this one, writes non-empty PNG files into the folder given by --out, and
prints the numbers the lectures give, where they give one."""
import os
import re
from pathlib import Path

import pytest

from conftest import run_python

pytest.importorskip("matplotlib")

# Every example runs (the gallery must not rot; about 50 s for the file on 2 cores). NNC_SKIP_SLOW_EXAMPLES=1
# leaves out the few that train for more than a few seconds even with --quick, for a quick local run.
slow = pytest.mark.skipif(os.environ.get("NNC_SKIP_SLOW_EXAMPLES") == "1",
                          reason="a slower example, skipped because NNC_SKIP_SLOW_EXAMPLES=1")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG = b"\x89PNG\r\n\x1a\n"


def run_example(name, tmp_path, *extra):
    out = tmp_path / name
    r = run_python([str(EXAMPLES / f"{name}.py"), "--quick", "--out", str(out), *extra],
                   env_remove=("NNC_BACKEND",), timeout=300)
    assert r.returncode == 0, f"{name}.py failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    pngs = sorted(out.glob("*.png"))
    assert pngs, f"{name}.py wrote no PNG into {out}"
    for p in pngs:
        data = p.read_bytes()
        assert data.startswith(PNG) and len(data) > 1000, f"{p.name} is not a real PNG"
    return r.stdout, {p.name for p in pngs}


def test_perceptron(tmp_path):
    out, pngs = run_example("perceptron", tmp_path)
    # The lecture's line -x1 + 4 x2 + 0.4: (2, 0.4) -> z 0 -> 1, (1, 0.6) -> 1.8 -> 1, (3, 0.4) -> -1 -> 0
    assert re.search(r"\(2, 0\.4\)\s+0\.0\s+1\b", out)
    assert re.search(r"\(1, 0\.6\)\s+1\.8\s+1\b", out)
    assert re.search(r"\(3, 0\.4\)\s+-1\.0\s+0\b", out)
    assert "never 0" in out
    assert {"perceptron_line.png", "perceptron_learning.png", "perceptron_xor.png"} <= pngs


def test_activations(tmp_path):
    out, pngs = run_example("activations", tmp_path)
    assert re.search(r"sigmoid\s+0\.25\s", out)
    assert {"activations.png", "saturation.png"} <= pngs


def test_linear_classifier(tmp_path):
    out, _ = run_example("linear_classifier", tmp_path)
    # data loss 0.19, L2 0.51-0.52, total 0.71; one step: 0.709 -> 0.708
    m = re.search(r"multiclass SVM \(Weston-Watkins\)\s+(\S+)\s+(\S+)\s+(\S+)", out)
    data, reg, total = map(float, m.groups())
    assert round(data, 2) == 0.19 and 0.51 <= reg <= 0.52 and round(total, 2) == 0.71
    assert "total 0.709 -> 0.708" in out


def test_backprop_by_hand(tmp_path):
    out, _ = run_example("backprop_by_hand", tmp_path)
    gap = float(re.search(r"over all 26 gradients: (\S+)", out).group(1))
    assert gap < 1e-12
    assert "FAIL" not in out


def test_softmax_by_hand(tmp_path):
    out, _ = run_example("softmax_by_hand", tmp_path)
    # scores (5.1, 3.2, -1.7, -2.0): exp (164.0, 24.5, 0.18, 0.14), p (0.87, 0.13, 0.00, 0.00)
    assert re.search(r"5\.1\s+164\.0\s+0\.87", out)
    assert re.search(r"3\.2\s+24\.5\s+0\.13", out)


def test_resume_training(tmp_path):
    out, _ = run_example("resume_training", tmp_path)
    assert re.search(r"resumed from the checkpoint\s+yes\s+0\.0e\+00", out)
    assert not re.search(r"restarted schedule.*\byes\b", out)


def test_lenet5(tmp_path):
    out, pngs = run_example("lenet5", tmp_path)
    assert re.search(r"32x32\s+61,706", out) and re.search(r"28x28 \(conv1 padding 2\)\s+61,706", out)
    assert {"lenet5_filters.png", "lenet5_feature_maps.png"} <= pngs


def test_optimizers(tmp_path):
    _, pngs = run_example("optimizers", tmp_path)
    assert {f"optimizers_{s}.png" for s in ("beale", "rosenbrock", "saddle", "bowl")} <= pngs


def test_exploding_gradients(tmp_path):
    out, _ = run_example("exploding_gradients", tmp_path)
    assert re.search(r"no clipping\s+stopped: epoch 1", out)


def test_sweep(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("distributed")
    out, pngs = run_example("sweep", tmp_path)
    # serial, joblib processes and Dask give the same cross-validated scores, bit for bit
    assert len(re.findall(r"\s+yes$", out, re.M)) == 3 and "NO" not in out
    assert "sweep_scores.png" in pngs


@slow
@pytest.mark.parametrize("name", ["playground", "learning_rates", "batchnorm_experiment", "overfitting", "freezing"])
def test_slower_examples(name, tmp_path):
    run_example(name, tmp_path)


@pytest.mark.parametrize("name", ["vanishing_gradients", "autoencoder"])
def test_quick_examples(name, tmp_path):
    run_example(name, tmp_path)


def test_every_example_is_tested_and_indexed():
    tested = set(re.findall(r'run_example\("(\w+)"', Path(__file__).read_text()))
    tested |= {"playground", "learning_rates", "vanishing_gradients", "batchnorm_experiment", "overfitting",
               "freezing", "autoencoder"}
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_") and p.stem != "plot_gallery"}
    assert scripts <= tested, f"untested examples: {sorted(scripts - tested)}"
    index = (EXAMPLES / "README.txt").read_text()
    assert all(f"{s}.py" in index for s in scripts), "every example needs a line in examples/README.txt"
