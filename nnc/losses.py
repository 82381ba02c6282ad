import numpy as np
class SoftmaxCrossEntropy:
    def forward(self, out, y):
        z = out - out.max(1, keepdims=True); p = np.exp(z); p /= p.sum(1, keepdims=True)
        self.p, self.y = p, y
        return float(-np.mean(np.log(p[np.arange(len(y)), y])))
    def backward(self):
        g = self.p.copy(); g[np.arange(len(self.y)), self.y] -= 1; return g / len(self.y)
def get(x):
    return SoftmaxCrossEntropy() if isinstance(x, str) else x
