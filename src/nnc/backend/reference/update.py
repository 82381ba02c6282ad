"""In-place parameter updates, reference: one function per optimizer rule, written as the paper writes
it, one NumPy operation per line. Every array is updated in place and returned; the hyperparameters
are rounded to the parameters' dtype first, so float32 parameters are updated in float32 throughout.

    axpy                  y <- y + alpha * x            (plain SGD: axpy(-lr, grad, param))
    sgd_momentum_update   Sutskever et al. 2013         v <- mu v - lr g;  theta <- theta + v
                          (nesterov: theta <- theta + mu v - lr g)
    adam_update           Kingma & Ba 2015, Alg. 1      (weight_decay: AdamW, Loshchilov & Hutter 2019)
    rmsprop_update        Tieleman & Hinton 2012
    adagrad_update        Duchi, Hazan & Singer 2011
    adadelta_update       Zeiler 2012, Alg. 1
The optimizers in nnc.optim hold the state arrays and call these through the backend; the native
twins run the same operations in the same order in one pass, so the bits agree."""
import numpy as np

from .._checks import check_axpy, check_update

__all__ = ["axpy", "sgd_momentum_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update"]


def axpy(alpha, x, y):
    """y += alpha * x, in place (y is returned).  x, y: same shape and dtype, C-contiguous; y writable."""
    check_axpy("axpy", alpha, x, y)
    y += y.dtype.type(alpha) * x
    return y


def sgd_momentum_update(param, grad, velocity, lr, momentum, nesterov=False):
    """SGD with momentum, in place:  v <- mu * v - lr * g;  theta <- theta + v, or with nesterov
    theta <- theta + mu * v - lr * g (the look-ahead step in terms of the current parameters).
    param, grad, velocity: one shape and dtype. Returns param."""
    grad = check_update("sgd_momentum_update", param, grad, {"velocity": velocity}, lr=lr, momentum=momentum)
    t = param.dtype.type
    velocity *= t(momentum)
    velocity += t(-lr) * grad
    if nesterov:
        param += t(momentum) * velocity
        param += t(-lr) * grad
    else:
        param += velocity
    return param


def adam_update(param, grad, m, v, lr, beta_1, beta_2, epsilon, t, weight_decay=0.0):
    """Adam's step t (1, 2, ...), in place:

        theta <- (1 - lr * weight_decay) * theta      (AdamW's decoupled decay, when weight_decay > 0)
        m <- b1 * m + (1 - b1) * g          v <- b2 * v + (1 - b2) * g^2
        m_hat = m / (1 - b1^t)              v_hat = v / (1 - b2^t)
        theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)
    param, grad, m, v: one shape and dtype. Returns param."""
    grad = check_update("adam_update", param, grad, {"m": m, "v": v}, lr=lr, beta_1=beta_1, beta_2=beta_2,
                        epsilon=epsilon, t=t, weight_decay=weight_decay)
    c = param.dtype.type
    if weight_decay:
        param *= c(1 - lr * weight_decay)
    m *= c(beta_1)
    m += c(1 - beta_1) * grad
    v *= c(beta_2)
    v += c(1 - beta_2) * grad * grad
    m_hat = m / c(1 - beta_1 ** t)
    v_hat = v / c(1 - beta_2 ** t)
    param -= c(lr) * m_hat / (np.sqrt(v_hat) + c(epsilon))
    return param


def rmsprop_update(param, grad, mean_square, lr, rho, epsilon):
    """RMSprop, in place:  E <- rho * E + (1 - rho) * g^2;  theta <- theta - lr * g / (sqrt(E) + eps).
    param, grad, mean_square (E): one shape and dtype. Returns param."""
    grad = check_update("rmsprop_update", param, grad, {"mean_square": mean_square}, lr=lr, rho=rho,
                        epsilon=epsilon)
    c = param.dtype.type
    mean_square *= c(rho)
    mean_square += c(1 - rho) * grad * grad
    param -= c(lr) * grad / (np.sqrt(mean_square) + c(epsilon))
    return param


def adagrad_update(param, grad, accumulator, lr, epsilon):
    """AdaGrad, in place:  G <- G + g^2;  theta <- theta - lr * g / (sqrt(G) + eps).
    param, grad, accumulator (G): one shape and dtype. Returns param."""
    grad = check_update("adagrad_update", param, grad, {"accumulator": accumulator}, lr=lr, epsilon=epsilon)
    c = param.dtype.type
    accumulator += grad * grad
    param -= c(lr) * grad / (np.sqrt(accumulator) + c(epsilon))
    return param


def adadelta_update(param, grad, mean_square_grad, mean_square_delta, lr, rho, epsilon):
    """AdaDelta, in place:

        Eg  <- rho * Eg + (1 - rho) * g^2
        dx  =  -sqrt(Edx + eps) / sqrt(Eg + eps) * g
        Edx <- rho * Edx + (1 - rho) * dx^2
        theta <- theta + lr * dx
    param, grad, mean_square_grad (Eg), mean_square_delta (Edx): one shape and dtype. Returns param."""
    grad = check_update("adadelta_update", param, grad, {"mean_square_grad": mean_square_grad,
                        "mean_square_delta": mean_square_delta}, lr=lr, rho=rho, epsilon=epsilon)
    c = param.dtype.type
    rho_, one_minus, eps = c(rho), c(1 - rho), c(epsilon)
    mean_square_grad *= rho_
    mean_square_grad += one_minus * grad * grad
    dx = -np.sqrt(mean_square_delta + eps) / np.sqrt(mean_square_grad + eps) * grad
    mean_square_delta *= rho_
    mean_square_delta += one_minus * dx * dx
    param += c(lr) * dx
    return param
