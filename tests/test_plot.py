"""nnc.plot (matplotlib, an optional extra) and nnc.optim.trajectory (optimizers on a 2-D point).

Every plot is drawn with the Agg backend and checked for what it says it draws: the number of lines,
collections or images, the axis labels, and a canvas that renders to a non-uniform image."""
import subprocess
import sys

import numpy as np
import pytest

import nnc
from nnc.optim.trajectory import SURFACES, Point, beale, bowl, minimize, rosenbrock, saddle

try:
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["figure.dpi"] = 40   # small canvases: the tests check content, not looks
    import matplotlib.pyplot as plt
    import nnc.plot as P
except ImportError:   # the optimizer paths and the import checks still run
    matplotlib = None

needs_mpl = pytest.mark.skipif(matplotlib is None, reason='matplotlib is not installed (pip install ".[plot]")')


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    if matplotlib is not None:
        plt.close("all")


def no_layout(fig):
    """Switch the constrained layout off: it is most of the drawing time, and matplotlib's business."""
    if hasattr(fig, "set_layout_engine"):   # matplotlib >= 3.6
        fig.set_layout_engine("none")


def rendered(fig):
    """The figure rendered to RGBA pixels (without its layout); fails if the image is one flat colour."""
    no_layout(fig)
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())
    assert image.std() > 0, "the figure rendered to a uniform image"
    return image


# ---- imports ---------------------------------------------------------------------------------------
def test_import_nnc_does_not_import_matplotlib_and_nnc_plot_says_how_to_install_it():
    # One child process for both checks (starting Python and importing nnc is most of the cost).
    code = ("import sys, nnc\n"
            "print('matplotlib' in sys.modules)\n"
            "sys.modules['matplotlib'] = None   # as if it were not installed\n"
            "try:\n    import nnc.plot\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, message = out.stdout.strip().split("\n", 1)
    assert first == "False"
    assert 'pip install ".[plot]"' in message


# ---- minimize and the test surfaces ----------------------------------------------------------------------
@pytest.mark.parametrize("f", [beale, rosenbrock, saddle, bowl])
def test_surface_gradients_match_finite_differences(f):
    w, eps = np.array([0.3, -0.7]), 1e-6
    numeric = [(f(w + eps * e)[0] - f(w - eps * e)[0]) / (2 * eps) for e in np.eye(2)]
    np.testing.assert_allclose(f(w)[1], numeric, rtol=1e-6, atol=1e-8)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-1, 1, 3)), axis=-1)   # (3, 4, 2)
    value, grad = f(grid)
    assert value.shape == (3, 4) and grad.shape == (3, 4, 2)


def test_surfaces_minima():
    for name, s in SURFACES.items():
        if s.minimum is not None:
            value, grad = s.f(np.array(s.minimum))
            assert value == pytest.approx(0) and np.allclose(grad, 0), name


def test_sgd_on_the_bowl_converges_to_the_minimum():
    path = minimize(bowl, (-4.0, 1.0), nnc.optim.SGD(lr=0.04), steps=300)
    assert path.shape == (301, 2)
    np.testing.assert_array_equal(path[0], [-4.0, 1.0])
    np.testing.assert_allclose(path[-1], [0, 0], atol=1e-4)


def test_sgd_path_is_the_update_rule():
    path = minimize(bowl, (-4.0, 1.0), "sgd", steps=3)    # a name: a fresh SGD, lr 0.01
    w = np.array([-4.0, 1.0])
    for t in range(3):
        w = w - 0.01 * bowl(w)[1]
        np.testing.assert_allclose(path[t + 1], w)


def test_adam_on_rosenbrock_decreases_f():
    path = minimize(rosenbrock, (-1.5, 2.0), nnc.optim.Adam(lr=0.05), steps=200)
    values = rosenbrock(path)[0]
    assert path.shape == (201, 2) and np.isfinite(path).all()
    assert values[-1] < 0.5 * values[0]
    assert values[100:].mean() < values[:100].mean()


def test_minimize_leaves_the_start_and_stops_at_divergence():
    x0 = np.array([-4.0, 1.0])
    with pytest.warns(RuntimeWarning, match="diverged at step"):
        path = minimize(bowl, x0, nnc.optim.SGD(lr=1e3), steps=200)
    np.testing.assert_array_equal(x0, [-4.0, 1.0])
    assert path.shape == (201, 2) and np.isnan(path[-1]).all() and np.isfinite(path[:3]).all()


def test_minimize_leaves_the_optimizer_given_alone():
    opt = nnc.optim.Adam(lr=0.1)
    model = nnc.Sequential([nnc.layers.Dense(2, input_shape=(2,))], seed=0)
    model.build()
    opt.bind(model)
    targets = list(opt._targets)
    first = minimize(bowl, (-4.0, 1.0), opt, 5)
    np.testing.assert_array_equal(minimize(bowl, (-4.0, 1.0), opt, 5), first)   # no state carried over
    assert opt.state == {} and opt.iterations == 0 and opt._targets == targets


def test_point_is_what_optimizers_bind():
    point = Point([1.0, 2.0])
    assert point.params["w"].dtype == np.float64 and point.grads["w"].shape == (2,)
    with pytest.raises(ValueError, match="2-D point"):
        Point([1.0, 2.0, 3.0])


# ---- plots -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    """A small MLP fitted on moons for 4 epochs, with its History and LayerStatsLogger."""
    X, y = nnc.datasets.make_moons(120, noise=0.2, seed=0)
    model = nnc.Sequential([nnc.layers.Dense(8, activation="tanh", input_shape=(2,)), nnc.layers.Dense(2)],
                           seed=0)
    model.compile(optimizer=nnc.optim.Adam(lr=0.05), loss="softmax_cross_entropy", metrics=["accuracy"])
    stats = nnc.callbacks.LayerStatsLogger()
    h = model.fit(X, y, epochs=4, batch_size=32, validation_split=0.25, callbacks=[stats], verbose=0)
    return model, h, stats, X, y


@needs_mpl
def test_history_draws_train_and_validation_per_quantity(trained):
    _, h, _, _, _ = trained
    fig = P.history(h)
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    for ax in fig.axes:
        assert [line.get_label() for line in ax.get_lines()] == ["train", "validation"]
        assert len(ax.get_lines()[0].get_xdata()) == 4 and ax.get_xlabel() == "epoch"
    assert len(P.history(h.history, metrics=["loss"]).axes) == 1
    assert len(P.history(trained[0]).axes) == 2          # the model's last History
    runs = P.history({"a": h, "b": {"loss": [3.0, 2.0, 1.0]}})
    assert [line.get_label() for line in runs.axes[0].get_lines()] == ["a", "_validation", "b"]
    assert len(runs.axes[1].get_lines()) == 2
    legend = [t.get_text() for t in runs.axes[0].get_legend().get_texts()]
    assert legend == ["a", "b", "train", "validation"]
    rendered(fig)
    with pytest.raises(ValueError, match="no \\['auc'\\]"):
        P.history(h, metrics=["auc"])


@needs_mpl
def test_decision_regions_of_a_sequential_with_test_points(trained):
    model, _, _, X, y = trained
    ax = P.decision_regions(model, X[:80], y[:80], X_test=X[80:], y_test=y[80:], resolution=60)
    assert len(ax.collections) >= 1 + 4         # the filled regions + 2 training and 2 test scatters
    markers = [c for c in ax.collections if c.get_label().endswith("(test)")]
    assert len(markers) == 2
    unlabelled = P.decision_regions(model, X[:80], y[:80], X_test=X[80:], resolution=20)
    assert [c.get_label() for c in unlabelled.collections][-1] == "test"
    assert ax.get_xlabel() == "x1" and ax.get_ylabel() == "x2"
    rendered(ax.figure)


@needs_mpl
def test_decision_regions_of_a_perceptron_with_its_line():
    X, y = nnc.datasets.make_linearly_separable(40, seed=1)
    p = nnc.Perceptron(random_state=0).fit(X, y)
    ax = P.decision_regions(p, X, y, boundaries=True, resolution=50)
    assert len(ax.get_lines()) == 1 and len(ax.texts) == 1     # the line and the arrow along w
    rendered(ax.figure)


@needs_mpl
def test_decision_regions_of_a_callable_returning_scores():
    W = np.array([[1.12, 0.84], [-0.95, 0.30], [0.35, -1.44]])
    b = np.array([0.06, 0.30, 0.35])
    X = np.array([(0.5, 0.4), (0.8, 0.3), (0.3, 0.8), (-0.4, 0.3), (-0.3, 0.7), (-0.7, 0.2),
                  (0.7, -0.4), (0.8, -1.15), (-0.4, -0.5)])
    y = np.repeat([0, 1, 2], 3)
    ax = P.decision_regions(lambda x: x @ W.T + b, X, y, resolution=40, class_names=["a", "b", "c"])
    labels = [c.get_label() for c in ax.collections if not c.get_label().startswith("_")]
    assert labels == ["a", "b", "c"]
    P.linear_boundaries(W, b, ax=ax)
    assert [line.get_label() for line in ax.get_lines()] == [
        "class 0: 1.12 x1 + 0.84 x2 + 0.06 = 0", "class 1: -0.95 x1 + 0.3 x2 + 0.3 = 0",
        "class 2: 0.35 x1 - 1.44 x2 + 0.35 = 0"]
    rendered(ax.figure)


@needs_mpl
def test_linear_boundaries_draw_the_lecture_perceptron_line():
    ax = P.linear_boundaries([-1, 4], 0.4)
    (line,) = ax.get_lines()
    assert line.get_label() == "-x1 + 4 x2 + 0.4 = 0"
    x1, x2 = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(-x1 + 4 * x2 + 0.4, 0, atol=1e-9)     # the points of the line
    rendered(ax.figure)


@needs_mpl
def test_activation_draws_f_and_its_derivative():
    x = np.linspace(-4, 4, 81)
    ax = P.activation("sigmoid", x=x)
    f, df = ax.get_lines()[2:4]          # after the two axis lines at 0
    np.testing.assert_allclose(f.get_ydata(), 1 / (1 + np.exp(-x)))
    assert np.max(df.get_ydata()) == pytest.approx(0.25)
    assert ax.get_title() == "sigmoid" and ax.get_xlabel() == "x"
    assert len(ax.collections) == 1      # the shaded saturated tails
    dense = nnc.layers.Dense(3, activation="tanh")
    np.testing.assert_allclose(P.activation(dense, x=x).get_lines()[2].get_ydata(), np.tanh(x))
    ax = P.activation("step", x=x)
    np.testing.assert_array_equal(ax.get_lines()[3].get_ydata(), 0)
    with pytest.raises(ValueError, match="softmax"):
        P.activation("softmax")
    prelu = P.activation(nnc.layers.PReLU(alpha_initializer=0.2), x=x)
    assert prelu.get_title() == "prelu(0.2)"
    np.testing.assert_allclose(prelu.get_lines()[3].get_ydata(), np.where(x > 0, 1, 0.2))
    rendered(ax.figure)


@needs_mpl
def test_activations_grid():
    fig = P.activations(["tanh", nnc.layers.LeakyReLU(0.1), "relu"], ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["tanh", "leaky_relu(0.1)", "relu"]
    assert len(fig.axes) == 4     # a 2 x 2 grid, the fourth cell hidden
    rendered(fig)


@needs_mpl
def test_filters_of_a_conv_layer(rng):
    conv = nnc.layers.Conv2D(6, (5, 3), input_shape=(1, 12, 12))
    conv.build((1, 12, 12), rng=rng)
    ax = P.filters(conv)
    (image,) = ax.get_images()
    assert image.get_array().shape == (2 * 5 + 1, 3 * 3 + 2)     # 2 rows x 3 columns of 5x3 tiles
    assert ax.get_title() == "6 filters 5x3"
    assert len(P.filters(rng.normal(size=(4, 3, 3, 3))).get_images()[0].get_array().shape) == 3   # RGB
    # one tile per (filter, channel): filters along the longer side
    assert P.filters(rng.normal(size=(4, 2, 3, 3))).get_images()[0].get_array().shape == (2 * 4 - 1, 4 * 4 - 1)
    assert P.filters(rng.normal(size=(2, 4, 3, 3))).get_images()[0].get_array().shape == (2 * 4 - 1, 4 * 4 - 1)
    with pytest.raises(ValueError, match="is the model built"):
        P.filters(nnc.layers.Conv2D(2, 3))
    rendered(ax.figure)


@needs_mpl
def test_feature_maps_one_row_per_image_layer():
    model = nnc.Sequential([nnc.layers.Conv2D(3, 3, activation="relu", input_shape=(1, 10, 12), name="conv1"),
                            nnc.layers.MaxPool2D(2, name="pool1"), nnc.layers.Flatten(),
                            nnc.layers.Dense(4, name="fc")], seed=0)
    image = np.random.default_rng(0).random((10, 12))
    fig = P.feature_maps(model, image)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 1 + 3 + 3          # the input, conv1's 3 maps, pool1's 3 maps
    assert shown[1].get_images()[0].get_array().shape == (8, 10)
    assert shown[0].get_ylabel() == "input" and shown[1].get_ylabel() == "conv1\n(3, 8, 10)"
    fig = P.feature_maps(model, image, layers=["pool1", "fc"], max_maps=2)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 1 + 2 + 1 and shown[-1].get_images()[0].get_array().shape == (1, 4)
    rendered(fig)


@needs_mpl
def test_trajectories_of_two_optimizers():
    s = SURFACES["rosenbrock"]
    paths = {"SGD": minimize(s.f, s.start, nnc.optim.SGD(lr=1e-3), 50),
             "Adam": minimize(s.f, s.start, nnc.optim.Adam(lr=0.05), 50)}
    ax = P.trajectories(s.f, paths, minimum=s.minimum, xlim=s.xlim, ylim=s.ylim, resolution=60)
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert labels == ["minimum", "SGD", "Adam", "start"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_xydata(), paths["SGD"])
    assert ax.get_xlim() == s.xlim and ax.get_xlabel() == "w1"
    rendered(ax.figure)
    ax = P.trajectories(saddle, {"SGD": minimize(saddle, (-1, 0.01), "sgd", 20)}, levels=[-1, 0, 1])
    rendered(ax.figure)


@needs_mpl
def test_gradient_norms_per_layer(trained):
    _, _, stats, _, _ = trained
    ax = P.gradient_norms(stats)
    assert [line.get_label() for line in ax.get_lines()] == ["dense", "dense_1"]   # input side first
    assert len(ax.get_lines()[0].get_xdata()) == 4 and ax.get_yscale() == "log"
    ax = P.gradient_norms(stats, stat="dx_norm", by="layer")
    assert len(ax.get_lines()) == 4
    with pytest.raises(ValueError, match="recorded statistics"):
        P.gradient_norms(stats, stat="grad_norm/gamma")
    rendered(ax.figure)


@needs_mpl
def test_histograms_one_panel_per_layer(trained):
    model = trained[0]
    fig = P.histograms(model)
    assert len(fig.axes) == 2 and fig.axes[0].get_title().startswith("dense: W (2, 8)\nmean ")
    assert sum(p.get_height() for p in fig.axes[0].patches) == 16
    rendered(fig)


@needs_mpl
def test_confusion_matrix_writes_the_counts():
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    ax = P.confusion_matrix(cm, ["cat", "dog", "bird"])
    assert [t.get_text() for t in ax.texts] == [str(v) for v in cm.ravel()]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "bird"]
    ax = P.confusion_matrix(cm, normalize=True)
    assert ax.texts[0].get_text() == f"{5 / 6:.2f}"
    rendered(ax.figure)
    with pytest.raises(ValueError, match="square"):
        P.confusion_matrix(np.zeros((2, 3)))


@needs_mpl
def test_plots_draw_into_a_given_axes():
    fig, (a, b) = plt.subplots(1, 2)
    assert P.activation("tanh", ax=a) is a
    assert P.confusion_matrix(np.eye(2), ax=b) is b


@needs_mpl
def test_animate_trajectories_grows_the_paths(tmp_path):
    paths = {"SGD": minimize(bowl, (-4.0, 1.0), nnc.optim.SGD(lr=0.05), 7),
             "Adam": minimize(bowl, (-4.0, 1.0), nnc.optim.Adam(lr=0.5), 7)}
    anim = P.animate_trajectories(bowl, paths, every=5, resolution=30)
    fig = anim._fig
    sgd = fig.axes[0].get_lines()[0]           # no minimum given: the first line is SGD's path
    assert len(sgd.get_xdata()) == 1           # frame 0: the start only
    no_layout(fig)
    anim.save(tmp_path / "paths.gif", writer="pillow", dpi=20)   # frames 0, 5, 7
    np.testing.assert_array_equal(sgd.get_xydata(), paths["SGD"])
    assert (tmp_path / "paths.gif").stat().st_size > 0


@needs_mpl
def test_decision_regions_with_given_weights_and_score_thresholds():
    from nnc.plot._classifiers import _scores_to_labels
    np.testing.assert_array_equal(_scores_to_labels(np.array([[0.2], [0.7]])), [0, 1])       # sigmoid
    np.testing.assert_array_equal(_scores_to_labels(np.array([-0.3, 2.0])), [0, 1])         # logit
    np.testing.assert_array_equal(_scores_to_labels(np.array([[1, 3, 2], [5, 0, 0]])), [1, 0])
    np.testing.assert_array_equal(_scores_to_labels(np.array([2, 0, 1])), [2, 0, 1])       # labels
    X, y = np.array([[-1.0, 0.0], [1.0, 0.0]]), np.array([0, 1])
    ax = P.decision_regions(lambda x: x[:, 0], X, y, boundaries=([1.0, 0.0], 0.0), resolution=20)
    assert ax.get_lines()[0].get_label() == "x1 + 0 = 0"
    with pytest.raises(ValueError, match="boundaries=True needs a linear model"):
        P.decision_regions(lambda x: x[:, 0], X, y, boundaries=True, resolution=20)
