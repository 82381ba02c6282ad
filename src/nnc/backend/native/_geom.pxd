# The geometry of a convolution, one record shared by the C kernels (csrc/im2col.h, nnc_conv_geom)
# and the Cython loops of conv.pyx and winograd.pyx, with the rule that groups images for a GEMM.

cdef extern from "im2col.h":
    ctypedef struct nnc_conv_geom:
        int N, C, H, W, C_out
        int kh, kw, sh, sw, ph, pw, dh, dw
        int Ho, Wo
        int K, P
        int nb
        int direct
        int dw_t


cdef inline nnc_conv_geom make_geom(tuple xs, int C_out, tuple k, tuple s, tuple p, tuple d, tuple o,
                                    int nb, bint dw_t=False):
    """The record of input shape xs (N, C, H, W), C_out filters of size k, stride s, padding p,
    dilation d, output size o (Ho, Wo), nb images per group."""
    cdef nnc_conv_geom g
    g.N, g.C, g.H, g.W = xs
    g.C_out = C_out
    g.kh, g.kw = k
    g.sh, g.sw = s
    g.ph, g.pw = p
    g.dh, g.dw = d
    g.Ho, g.Wo = o
    g.K = g.C * g.kh * g.kw
    g.P = g.Ho * g.Wo
    g.nb = nb
    g.direct = g.kh == 1 and g.kw == 1 and g.sh == 1 and g.sw == 1 and g.ph == 0 and g.pw == 0
    g.dw_t = dw_t
    return g


cdef inline int images_per_group(int N, int P, int target, bint balance=False):
    """Images per group: enough that one GEMM has about target columns.
    balance (the forward): when that makes fewer than 32 groups, a number of groups that is a multiple
    of 8 where the batch allows, so that 2, 4 or 8 threads get equal shares. Not in the backward, whose
    dW GEMM wants long groups (the balanced split measured slower there), nor with many groups (smaller
    groups cost more than the last group's imbalance).
    Depends on the shape only, never on the thread count (the dW partial sums are per group)."""
    cdef int nb = min(N, max(1, (target + P - 1) // P))
    cdef int ngroups = (N + nb - 1) // nb
    if balance and ngroups < 32 and ngroups % 8 and ngroups + 8 - ngroups % 8 <= N:
        nb = max(1, N // (ngroups + 8 - ngroups % 8))
        ngroups = (N + nb - 1) // nb
    return (N + ngroups - 1) // ngroups


cdef inline void group_threads(int ngroups, int nthreads, int *outer, int *inner) noexcept nogil:
    """How nthreads share ngroups groups: the threads take whole groups (each GEMM on one thread) when
    there are enough of them; with fewer groups than threads (small batches, N = 1 at inference) the
    groups run in turn and the threads share each GEMM's blocks instead. Same bits either way: the
    blocks of a GEMM depend on the shape only."""
    if ngroups >= nthreads:
        outer[0], inner[0] = nthreads, 1
    else:
        outer[0], inner[0] = 1, nthreads


# The backward's dW partial sums (one per group of images, added in group order) are held a round at a time:
# at most 64 groups, and at most 64 MiB, whatever the batch and the layer's width.
cdef enum:
    PART_ROUND = 64
    PART_ROUND_BYTES = 67108864


cdef inline int groups_per_round(int ngroups, long long part_values, int itemsize) noexcept:
    """How many groups' partial sums (part_values values of itemsize bytes each) one round holds: the bits
    do not depend on it (the sums are added in group order), only the memory does."""
    cdef long long fit = PART_ROUND_BYTES // (part_values * itemsize)
    cdef long long n = PART_ROUND if ngroups > PART_ROUND else ngroups
    if fit < n:
        n = fit
    return <int> (n if n > 1 else 1)

