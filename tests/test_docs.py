"""The documentation's numbers against the code: the defaults the notation pages and the
conventions page quote are read here from the signatures, so a change of default that forgets
the docs fails a test. (Building the site itself is CI's docs step: python -m sphinx -W ...)"""
import inspect
import os
import re

import pytest

import nnc

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
PAGES = ["notation.md", os.path.join("pt", "notacao.md")]


def _page(name):
    path = os.path.join(DOCS, name)
    if not os.path.exists(path):
        pytest.skip(f"docs/{name} is not in this tree (an installed copy without the docs)")
    with open(path, encoding="utf-8") as f:
        return f.read()


def _defaults(cls):
    return {k: p.default for k, p in inspect.signature(cls).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _values(text, name):
    """Every number the page writes as name=<number>."""
    return [float(v) for v in re.findall(rf"\b{name}=(-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)", text)]


QUOTES = [
    (nnc.layers.BatchNormalization, ("momentum", "epsilon")),
    (nnc.regularizers.L1, ("l1",)),
    (nnc.regularizers.L2, ("l2",)),
    (nnc.regularizers.L1L2, ("l1", "l2")),
    (nnc.optim.SGD, ("lr",)),
    (nnc.optim.AdaGrad, ("lr", "epsilon")),
    (nnc.optim.RMSprop, ("lr", "rho", "epsilon")),
    (nnc.optim.AdaDelta, ("lr", "rho", "epsilon")),
    (nnc.optim.Adam, ("lr", "beta_1", "beta_2", "epsilon")),
    (nnc.optim.AdamW, ("weight_decay",)),
]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("cls, names", QUOTES, ids=[c.__name__ for c, _ in QUOTES])
def test_notation_quotes_the_code_defaults(page, cls, names):
    text = _page(page)
    d = _defaults(cls)
    for name in names:
        assert float(d[name]) in _values(text, name), \
            f"docs/{page} should quote {cls.__name__}'s default {name}={d[name]!r}"


@pytest.mark.parametrize("page", PAGES)
def test_notation_momentum_defaults(page):
    text = _page(page)
    assert _defaults(nnc.optim.Momentum)["momentum"] == 0.9 and "`Momentum`: `mu=0.9`" in text
    assert _defaults(nnc.optim.Nesterov)["momentum"] == 0.9 and "`Nesterov`: `mu=0.9`" in text


@pytest.mark.parametrize("page", PAGES)
def test_notation_penalty_forms(page):
    import numpy as np
    w = np.array([1.0, -2.0])
    penalty, grad = nnc.regularizers.L2(0.1)(w)      # the page: l2 * sum w^2, gradient 2 * l2 * w
    assert penalty == pytest.approx(0.1 * 5.0) and np.allclose(grad, 2 * 0.1 * w)
    penalty, grad = nnc.regularizers.L1(0.1)(w)      # l1 * sum |w|, gradient l1 * sign(w)
    assert penalty == pytest.approx(0.1 * 3.0) and np.allclose(grad, 0.1 * np.sign(w))
    text = _page(page)
    assert "`l2 * sum w^2`" in text and "`2 * l2 * w`" in text


def test_half_squared_error_is_the_lectures():
    import numpy as np
    yh, y = np.array([[0.2, 0.7, 0.1]]), np.array([[0.0, 1.0, 0.0]])
    half = nnc.losses.get("half_squared_error").forward(yh, y)
    mse = nnc.losses.get("mse").forward(yh, y)
    assert half == pytest.approx(0.5 * ((yh - y) ** 2).sum())
    assert half == pytest.approx(yh.shape[1] / 2 * mse)   # the page's (K / 2) * mse
