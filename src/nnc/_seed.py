"""The default seed: where a layer, an initializer or a model built without a generator draws from.

    nnc.set_seed(0)                  # like Keras' keras.utils.set_random_seed(0)
    layer = nnc.layers.Dense(10)
    layer(x)                         # built outside a model: the same weights on every run

A model seeds its layers itself (`Sequential(..., seed=0)`), and a layer or initializer given
`seed=` keeps its own; everything else asks `new_rng()`. After set_seed(n) that is the next child
of one SeedSequence(n), so the weights depend on n and on the order things are built in, never on
the thread count or the backend. Without set_seed (or after set_seed(None)) each new generator
takes fresh entropy from the OS, numpy's default. This and the backend choice and the thread count
are nnc's only global settings.
"""
import numpy as np

# The SeedSequence set_seed made; None: fresh OS entropy for each generator.
_sequence: np.random.SeedSequence | None = None


def set_seed(seed: int | None) -> None:
    """Make every generator nnc creates without a seed of its own reproducible from `seed` (an int
    >= 0), as keras.utils.set_random_seed does; None goes back to fresh, unseeded generators.
    Numpy's global state (np.random.seed) is not touched."""
    global _sequence
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"set_seed: seed must be an integer >= 0 or None, got {seed!r}")
    _sequence = None if seed is None else np.random.SeedSequence(int(seed))


def new_rng() -> np.random.Generator:
    """A numpy Generator for something built without one: the next child of set_seed's sequence,
    or unseeded when no seed is set."""
    if _sequence is None:
        return np.random.default_rng()
    return np.random.default_rng(_sequence.spawn(1)[0])
