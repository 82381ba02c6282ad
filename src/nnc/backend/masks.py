"""The dropout masks, drawn in one place for every backend.

    keep = draw_keep(rng, shape, rate)      keep ~ Bernoulli(1 - rate), one bool per entry of shape

The mask comes from the numpy Generator the caller passes (a layer's seeded `rng`), as
`rng.random(shape) >= rate`: one float64 uniform per entry, whatever the dtype of x. The reference,
native backend (and any other) call this same function, so a seed gives the same mask in
each of them and switching backend in the middle of a run repeats it exactly."""
__all__ = ["draw_keep"]


def draw_keep(rng, shape, rate):
    """keep (shape, bool): True where a unit is kept, with probability 1 - rate; draws prod(shape)
    uniforms from rng."""
    return rng.random(shape) >= rate
