"""Initializers: the variances of the papers, seeding, names; lecun, orthogonal, constant."""
import numpy as np
import pytest

from nnc import initializers


@pytest.mark.parametrize("name,fan_in,fan_out,var", [
    ("glorot_uniform", 300, 200, 2 / 500), ("glorot_normal", 300, 200, 2 / 500),
    ("he_uniform", 300, 200, 2 / 300), ("he_normal", 300, 200, 2 / 300),
])
def test_variance_matches_the_paper(name, fan_in, fan_out, var):
    w = initializers.get(name)((fan_in, fan_out), np.float64, np.random.default_rng(0))
    assert w.shape == (fan_in, fan_out) and w.dtype == np.float64
    assert abs(w.mean()) < 0.01
    assert w.var() == pytest.approx(var, rel=0.03)


def test_conv_fans():
    w = initializers.get("he_normal")((16, 8, 3, 5), np.float64, np.random.default_rng(0))
    assert w.var() == pytest.approx(2 / (8 * 3 * 5), rel=0.1)


def test_seeded_and_dtype():
    a = initializers.get("glorot_uniform")((5, 4), np.float32, np.random.default_rng(7))
    b = initializers.get("glorot_uniform")((5, 4), np.float32, np.random.default_rng(7))
    assert a.dtype == np.float32 and np.array_equal(a, b)


def test_constant_families_and_config_roundtrip():
    assert not initializers.get("zeros")((3,)).any()
    assert (initializers.get("ones")((2, 2)) == 1).all()
    u = initializers.Uniform(-2, -1)
    w = u((1000,), np.float64, np.random.default_rng(0))
    assert w.min() >= -2 and w.max() <= -1
    again = initializers.get(initializers.serialize(u))
    assert (again.minval, again.maxval) == (-2.0, -1.0)
    n = initializers.get({"class_name": "Normal", "config": {"mean": 3.0, "stddev": 0.5}})
    assert n((20000,), np.float64, np.random.default_rng(0)).std() == pytest.approx(0.5, rel=0.03)


def test_bad_names_and_arguments():
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match=r"RandomUniform: minval must be < maxval, got minval=1, maxval=0"):
        initializers.Uniform(1, 0)
    with pytest.raises(ValueError, match="stddev"):
        initializers.Normal(0, -1)
    with pytest.raises(TypeError):
        initializers.get(3)


@pytest.mark.parametrize("make, msg", [
    (lambda: initializers.RandomUniform(None), r"RandomUniform: minval must be a finite number, got None"),
    (lambda: initializers.RandomNormal(stddev=float("nan")), r"RandomNormal: stddev must be a finite number"),
    (lambda: initializers.Constant("1"), r"Constant: value must be a finite number, got '1'"),
    (lambda: initializers.Orthogonal(gain=None), r"Orthogonal: gain must be a finite number, got None"),
    (lambda: initializers.HeNormal(seed=-1), r"HeNormal: seed must be None or an integer >= 0, got -1"),
    (lambda: initializers.get("he_nromal"), r"unknown initializer 'he_nromal'; did you mean 'he_normal'"),
    (lambda: initializers.get({"class_name": "RandomNormall"}), r"did you mean 'random_normal'")])
def test_bad_arguments_name_the_initializer(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


def test_keras_random_uniform_and_normal_names_and_defaults():
    u, n = initializers.RandomUniform(), initializers.RandomNormal()
    assert (u.minval, u.maxval) == (-0.05, 0.05) and (n.mean, n.stddev) == (0.0, 0.05)
    assert isinstance(initializers.get("random_uniform"), initializers.RandomUniform)
    assert isinstance(initializers.get("RandomNormal"), initializers.RandomNormal)
    # configs saved under the old class names still load
    assert isinstance(initializers.get({"class_name": "Uniform", "config": {}}), initializers.RandomUniform)
    assert isinstance(initializers.get({"class_name": "Normal", "config": {}}), initializers.RandomNormal)
    w = u((5000,), np.float64, np.random.default_rng(0))
    assert -0.05 <= w.min() and w.max() <= 0.05 and w.std() == pytest.approx(0.1 / np.sqrt(12), rel=0.05)


@pytest.mark.parametrize("make", [lambda s: initializers.RandomUniform(seed=s),
                                  lambda s: initializers.RandomNormal(seed=s),
                                  lambda s: initializers.GlorotUniform(seed=s),
                                  lambda s: initializers.Orthogonal(seed=s)])
def test_seed_gives_the_same_values_on_every_call_whatever_the_rng(make):
    init = make(3)
    a = init((4, 5), np.float32, np.random.default_rng(0))
    b = init((4, 5), np.float32, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, make(4)((4, 5), np.float32, np.random.default_rng(0)))
    again = initializers.get(initializers.serialize(init))
    assert again.seed == 3
    np.testing.assert_array_equal(again((4, 5), np.float32, None), a)
    unseeded = make(None)
    assert "seed" not in unseeded.get_config()
    np.testing.assert_array_equal(unseeded((4, 5), np.float32, np.random.default_rng(0)),
                                  unseeded((4, 5), np.float32, np.random.default_rng(0)))




def test_lecun_uniform_bounds_and_variance(rng):
    w = initializers.get("lecun_uniform")((400, 300), np.float64, rng)
    limit = np.sqrt(3 / 400)
    assert np.abs(w).max() <= limit
    assert w.var() == pytest.approx(1 / 400, rel=0.03)     # Var U(-l, l) = l^2 / 3 = 1 / fan_in


def test_lecun_normal_variance(rng):
    w = initializers.get("lecun_normal")((500, 200), np.float32, rng)
    assert w.dtype == np.float32
    assert w.var() == pytest.approx(1 / 500, rel=0.03)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (8, 3, 2, 2)])
def test_orthogonal(rng, shape):
    w = initializers.Orthogonal(gain=2.0)(shape, np.float64, rng)
    assert w.shape == shape
    m = w.reshape(shape[0], -1) / 2.0
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_constant_and_config():
    w = initializers.get({"class_name": "Constant", "config": {"value": 0.25}})((3, 2))
    np.testing.assert_array_equal(w, np.full((3, 2), 0.25, np.float32))
    assert initializers.serialize(initializers.Orthogonal(1.5)) == {"class_name": "Orthogonal",
                                                                     "config": {"gain": 1.5}}
    with pytest.raises(ValueError):
        initializers.Orthogonal()((5,))
    with pytest.raises(ValueError):
        initializers.Constant(np.inf)


def test_seeded(rng):
    a = initializers.get("orthogonal")((4, 4), np.float64, np.random.default_rng(1))
    b = initializers.get("orthogonal")((4, 4), np.float64, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
