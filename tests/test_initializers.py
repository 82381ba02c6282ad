"""The initializers added for the training toolkit: lecun_uniform/normal, orthogonal, constant."""
import numpy as np
import pytest

from nnc import initializers


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
