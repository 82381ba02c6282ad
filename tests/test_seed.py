"""nnc.set_seed: the default generator of layers and initializers used without a model."""
import numpy as np
import pytest

import nnc
from nnc.layers import Dense, Dropout


@pytest.fixture(autouse=True)
def _no_global_seed():
    yield
    nnc.set_seed(None)     # leave the default as other tests expect it


def _standalone_weights(seed):
    nnc.set_seed(seed)
    layer = Dense(4)
    layer(np.ones((2, 3), np.float32))
    return layer.params["W"].copy()


def test_set_seed_makes_standalone_layers_repeat():
    first, again = _standalone_weights(7), _standalone_weights(7)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, _standalone_weights(8))


def test_layers_built_one_after_another_differ():
    nnc.set_seed(0)
    a, b = Dense(4), Dense(4)
    x = np.ones((2, 3), np.float32)
    a(x), b(x)
    assert not np.array_equal(a.params["W"], b.params["W"])


def test_without_a_seed_each_run_differs():
    nnc.set_seed(None)
    assert not np.array_equal(_standalone_weights(None), _standalone_weights(None))


def test_standalone_dropout_masks_repeat():
    x = np.ones((8, 16), np.float32)
    outs = []
    for _ in range(2):
        nnc.set_seed(3)
        outs.append(Dropout(0.5)(x, training=True))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert 0 < np.count_nonzero(outs[0]) < x.size


def test_initializer_called_without_rng_follows_the_seed():
    draws = []
    for _ in range(2):
        nnc.set_seed(5)
        draws.append(nnc.initializers.get("he_normal")((3, 4), fan_in=3, fan_out=4))
    np.testing.assert_array_equal(draws[0], draws[1])


def test_a_model_seed_wins_over_the_global_one():
    def weights(global_seed):
        nnc.set_seed(global_seed)
        model = nnc.Sequential([Dense(4, input_shape=(3,))], seed=1)
        model.build()
        return model.get_weights()[0]
    np.testing.assert_array_equal(weights(10), weights(11))


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_bad_seed_is_refused(bad):
    with pytest.raises(ValueError, match="set_seed: seed must be an integer >= 0 or None"):
        nnc.set_seed(bad)


def test_an_unseeded_model_follows_the_global_seed():
    def weights():
        nnc.set_seed(2)
        model = nnc.Sequential([Dense(4, input_shape=(3,))])
        model.build()
        return model.get_weights()[0]
    np.testing.assert_array_equal(weights(), weights())
