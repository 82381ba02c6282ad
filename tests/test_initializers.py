"""Initializers: the variances of the papers, seeding, names."""
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
    with pytest.raises(ValueError, match="minval < maxval"):
        initializers.Uniform(1, 0)
    with pytest.raises(ValueError, match="stddev"):
        initializers.Normal(0, -1)
    with pytest.raises(TypeError):
        initializers.get(3)
