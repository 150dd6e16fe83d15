"""Numba helpers shared by the generated reverse sweep, and the hand-written adjoint kernels.

The tape, as the kernels see it (see docs/architecture.md):

* ``rec`` -- int64, one variable-length record per value (slot), in recording order:
  ``[op, nin, *inputs, addr, is32, ndim, *shape, nints, *ints, nfloats]``. ``op`` is the opcode
  of the op that produced the value (``IN_CONST``/``IN_LEAF`` for inputs copied or referenced
  in, with no inputs), ``inputs`` are its input slots, ``addr`` is the address of the value in
  the arena (float32 when ``is32``), ``ints`` are integer parameters (axes, permutations,
  strides).
* ``fl``  -- float64 parameters (scalar constants, bounds, scales), ``nfloats`` per record.
* ``tab`` -- the fixed-width table `decode` builds from ``rec`` at backward time: one row per
  slot with the T_* columns below (offsets into ``rec``/``fl``, sizes, adjoint offsets).
* ``adj`` / ``adj32`` -- the adjoints of float64 / float32 slots, each in its slot's dtype (as
  torch: a float32 graph accumulates in float32); ``tab[s, T_ADJ]`` is slot s's offset in the
  buffer of its dtype. Every entry is homogeneous (its inputs that need a gradient have its
  dtype: the front-ends record a cast, `to_copy`, first), so a kernel works on one of the two
  buffers; only `to_copy` reads one and writes the other. ``live[s]`` marks a slot whose
  adjoint has been written; entries whose output is not live are skipped.
* ``env`` -- int64 run-time facts for the kernels: ``env[ENV_DGEMM]`` / ``env[ENV_SGEMM]`` are
  the addresses of ``cblas_dgemm`` / ``cblas_sgemm`` (0: use loops). Passed as data, never
  baked into cached code.

Kernels never trust a shape they were not given: every index they form is derived from ``rec``,
which Python filled from shapes it validated, and every address points into a buffer the tape
keeps alive.
"""
import numpy as np
from numba import carray, njit, types
from llvmlite import ir
from numba.extending import intrinsic

from . import numba_cache  # noqa: F401 -- corrupted cache files heal (before any compile)
from .blas import NO_TRANS, TRANS, dgemm, sgemm

IN_CONST, IN_LEAF = -1, -2   # pseudo-opcodes of input records
IN_FL = -1                   # record address meaning "the value is in fl" (see above)
COMPACT = 1 << 40            # first word of a compact record (see above and `compact`)


COMPACT32 = 1 << 36           # flag of a compact record's word: the value is a float32


def compact(op: int, nin: int, nints: int, nfloats: int, is32: int = 0) -> int:
    """The first word of a compact record: a 0-d value kept in ``fl`` (its last float),
    ``[word, *inputs, *ints]``: 3 words for a binary op where the full layout takes 9 (every
    int costs ~13 ns to convert at the next flush). A float32 value (`is32`) is stored as the
    float64 whose low 4 bytes are its bits (`_scalar.pack32`), so that the kernels read it in
    place as a float32, as any float32 slot."""
    assert 0 <= op < 1 << 24 and 0 <= nin < 16 and 0 <= nints < 16 and 0 < nfloats < 16
    return COMPACT + (COMPACT32 if is32 else 0) + (op << 12) + (nin << 8) + (nints << 4) + nfloats


@njit(cache=True, inline="always", error_model="numpy")
def stored_floats(size, is32):
    """How many floats of ``fl`` hold a value of `size` elements kept there (float32 values are
    packed two to a float64)."""
    return (size + 1) // 2 if is32 else size
# columns of the decoded table
# T_A/T_B: the first two input slots (-1 if absent); all inputs: rec[T_INS : T_INS + T_NIN]
(T_OP, T_A, T_B, T_ADDR, T_IS32, T_NDIM, T_SHP, T_SIZE, T_ADJ, T_NEED, T_IOFS, T_ICNT,
 T_FOFS, T_NIN, T_INS) = range(15)
TAB_W = 15
ENV_DGEMM = 0
ENV_SGEMM = 1
ENV_W = 2


def _ptr_intrinsic(ty):
    @intrinsic
    def as_ptr(typingctx, addr):
        sig = types.CPointer(ty)(types.int64)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(types.CPointer(ty)))
        return sig, codegen
    return as_ptr


f64_ptr = _ptr_intrinsic(types.float64)
f32_ptr = _ptr_intrinsic(types.float32)
i64_ptr = _ptr_intrinsic(types.int64)
u8_ptr = _ptr_intrinsic(types.uint8)

# every op's adjoint kernel is a cfunc of this signature (see codegen.py): the entry, then the
# address and length of tab (rows), rec, fl, adj, adj32, and the addresses of live and env
KERNEL_SIG = types.void(*([types.int64] * 13))


@intrinsic
def call_kernel(typingctx, fptr, e, tab_p, ns, rec_p, nrec, fl_p, nfl, adj_p, nadj, adj32_p,
                nadj32, live_p, env_p):
    """Call the adjoint kernel at address `fptr` (a KERNEL_SIG cfunc)."""
    sig = types.void(*([types.int64] * 14))

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(ir.VoidType(), [i64] * 13)
        builder.call(builder.inttoptr(args[0], fnty.as_pointer()), args[1:])
        return context.get_dummy_value()
    return sig, codegen


@njit(cache=True, inline="always", error_model="numpy")
def vals64(addr, n):
    return carray(f64_ptr(addr), n)


@njit(cache=True, inline="always", error_model="numpy")
def vals32(addr, n):
    return carray(f32_ptr(addr), n)


@njit(cache=True, error_model="numpy")
def decode(rec, n, fl_addr):
    """The fixed-width slot table for the first `n` records of `rec`; and the sizes of the
    float64 and float32 adjoint buffers. `fl_addr` is the address of ``fl`` (values kept there
    get their address from it)."""
    tab = np.empty((n, TAB_W), np.int64)
    p = 0
    fofs = 1  # fl[0] is a placeholder (np.frombuffer refuses an empty buffer)
    adj = 0
    adj32 = 0
    for s in range(n):
        head = rec[p]
        if head >= COMPACT:  # a 0-d value in fl: [head, *inputs, *ints]
            h = head - COMPACT
            op = (h >> 12) & 0xFFFFFF
            nin = (h >> 8) & 15
            ni = (h >> 4) & 15
            nf = h & 15
            tab[s, T_INS] = p + 1
            tab[s, T_A] = rec[p + 1] if nin > 0 else -1
            tab[s, T_B] = rec[p + 2] if nin > 1 else -1
            tab[s, T_IS32] = (h >> 36) & 1
            tab[s, T_NDIM] = 0
            tab[s, T_SHP] = p
            tab[s, T_IOFS] = p + 1 + nin
            size = 1
            p += 1 + nin + ni
        else:
            op = head
            nin = rec[p + 1]
            tab[s, T_INS] = p + 2
            tab[s, T_A] = rec[p + 2] if nin > 0 else -1
            tab[s, T_B] = rec[p + 3] if nin > 1 else -1
            p += 2 + nin
            tab[s, T_ADDR] = rec[p]
            tab[s, T_IS32] = rec[p + 1]
            nd = rec[p + 2]
            tab[s, T_NDIM] = nd
            tab[s, T_SHP] = p + 3
            size = 1
            for d in range(nd):
                size *= rec[p + 3 + d]
            q = p + 3 + nd
            ni = rec[q]
            tab[s, T_IOFS] = q + 1
            nf = rec[q + 1 + ni]
            p = q + 2 + ni
        tab[s, T_OP] = op
        tab[s, T_NIN] = nin
        tab[s, T_ICNT] = ni
        tab[s, T_SIZE] = size
        if tab[s, T_IS32]:
            tab[s, T_ADJ] = adj32
            adj32 += size
        else:
            tab[s, T_ADJ] = adj
            adj += size
        tab[s, T_NEED] = 0 if op == IN_CONST else 1
        tab[s, T_FOFS] = fofs
        fofs += nf
        if head >= COMPACT or tab[s, T_ADDR] == IN_FL:
            tab[s, T_ADDR] = fl_addr + 8 * (fofs - stored_floats(size, tab[s, T_IS32]))
    return tab, adj, adj32


@njit(cache=True, error_model="numpy")
def prepare(tab, rec, adj, adj32, ready, e):
    """Zero the adjoints of entry e's inputs that no entry has written yet (`ready` marks the
    zeroed ones). A sweep zeroes each slot's adjoint this way, right before its first writer:
    no pass over the whole buffer first (for large tapes, fresh pages and a memset as costly
    as several kernels), and nothing for slots the sweep never reaches."""
    ins = tab[e, T_INS]
    for i in range(tab[e, T_NIN]):
        s = rec[ins + i]
        if tab[s, T_NEED]:
            _zero(tab, adj, adj32, ready, s)


@njit(cache=True, error_model="numpy")
def zero_slots(tab, adj, adj32, ready, slots):
    """`prepare` for the given slots (those a sweep is seeded in)."""
    for s in slots:
        _zero(tab, adj, adj32, ready, s)


@njit(cache=True, inline="always", error_model="numpy")
def _zero(tab, adj, adj32, ready, s):
    if not ready[s]:
        ready[s] = 1
        o = tab[s, T_ADJ]
        n = tab[s, T_SIZE]
        if tab[s, T_IS32]:
            adj32[o:o + n] = 0.0
        else:
            adj[o:o + n] = 0.0


@njit(cache=True, error_model="numpy")
def sweep(tab, rec, fl, adj, adj32, live, ready, env, kernels, inits, pause, start, stop,
          resume):
    """The reverse sweep over entries stop-1 .. start, each through its op's kernel (by address).

    Returns -1 when done, or the first entry e marked in `pause` -- 1: hooks on e's output (if
    live), 2: a Python op at e (always: its other outputs may be live when e is not) -- so that
    Python can run the callback; Python then resumes with stop=e+1, resume=e (run e's kernel
    without pausing again) or stop=e (e was handled in Python). With a non-empty `ready` the
    adjoint buffers start uninitialised and are zeroed slot by slot (`prepare`); with an empty
    one they start zeroed. ``inits[op]``: op's kernels initialise their inputs' adjoints
    themselves (they assign where ``live`` is not yet set), so they need no `prepare`."""
    ns = tab.shape[0]
    lazy = ready.shape[0] > 0
    for e in range(stop - 1, start - 1, -1):
        op = tab[e, T_OP]
        if op < 0:
            continue
        if pause[e] and e != resume and (live[e] or pause[e] == 2):
            return e  # (3, when live: a long elementwise entry Python runs in slices)
        if not live[e]:
            continue
        k = kernels[2 * op + tab[e, T_IS32]]
        if k == 0:  # an op without a kernel (a Python op's extra outputs)
            continue
        if lazy and not inits[op]:
            prepare(tab, rec, adj, adj32, ready, e)
        call_kernel(k, e, tab.ctypes.data, ns, rec.ctypes.data, rec.shape[0],
                    fl.ctypes.data, fl.shape[0], adj.ctypes.data, adj.shape[0],
                    adj32.ctypes.data, adj32.shape[0], live.ctypes.data, env.ctypes.data)
        if lazy and inits[op]:
            mark_ready(tab, rec, ready, e)
    return -1


@njit(cache=True, inline="always", error_model="numpy")
def mark_ready(tab, rec, ready, e):
    """Entry e's kernel has initialised its inputs' adjoints (a later `prepare` keeps them)."""
    for i in range(tab[e, T_NIN]):
        ready[rec[tab[e, T_INS] + i]] = 1


@njit(cache=True, error_model="numpy")
def sliceable(tab, kinds, min_size):
    """The elementwise entries of at least `min_size` elements whose inputs all have the
    output's size (no broadcast): those whose adjoint can run as independent slices
    (`run_slice`). `kinds[op]`: 1 for the ops of the unary and binary families."""
    out = []
    for e in range(tab.shape[0]):
        op = tab[e, T_OP]
        n = tab[e, T_SIZE]
        if op >= 0 and kinds[op] and n >= min_size and tab[tab[e, T_A], T_SIZE] == n and (
                tab[e, T_NIN] < 2 or tab[tab[e, T_B], T_SIZE] == n):
            out.append(e)
    return np.array(out, np.int64)


@njit(cache=True, nogil=True, error_model="numpy")
def run_slice(k, e, lo, hi, tab, rec, fl, adj, adj32, live_in, env):
    """Run elementwise entry e's kernel `k` on elements [lo, hi) only, through a table of
    three rows (its inputs, itself) cut to that range: slices of one entry can run in
    threads at once (they write disjoint parts of the input adjoints; the caller marks those
    live and ready). `live_in`: the sweep's live marks, read only. Called without the GIL."""
    nin = tab[e, T_NIN]
    sub = np.empty((3, TAB_W), np.int64)
    srec = np.zeros(3, np.int64)  # the slice's shape (1-D), then its inputs' rows
    srec[0] = hi - lo
    srec[1] = 0
    srec[2] = 1
    live = np.zeros(3, np.uint8)
    for r in range(3):
        s = e if r == 2 else (tab[e, T_A] if r == 0 or nin < 2 else tab[e, T_B])
        for c in range(TAB_W):
            sub[r, c] = tab[s, c]
        sub[r, T_ADDR] = tab[s, T_ADDR] + lo * (4 if tab[s, T_IS32] else 8)
        sub[r, T_ADJ] = tab[s, T_ADJ] + lo
        sub[r, T_SIZE] = hi - lo
        sub[r, T_NDIM] = 1
        sub[r, T_SHP] = 0
        live[r] = live_in[s]  # (a kernel assigns into an input's adjoint not yet live)
    same = nin > 1 and tab[e, T_A] == tab[e, T_B]  # (x * x: both inputs are row 0, whose
    srec[2] = 0 if same else 1                       # live mark the first loop sets)
    sub[2, T_A] = 0
    sub[2, T_B] = (0 if same else 1) if nin > 1 else -1
    sub[2, T_INS] = 1
    call_kernel(k, 2, sub.ctypes.data, 3, srec.ctypes.data, 3, fl.ctypes.data, fl.shape[0],
                adj.ctypes.data, adj.shape[0], adj32.ctypes.data, adj32.shape[0],
                live.ctypes.data, env.ctypes.data)


@njit(cache=True, error_model="numpy")
def shift_inputs(rec, n, shift):
    """Renumber the input slots of the `n` records in `rec` by `shift` (when tapes merge)."""
    tab, _, _ = decode(rec, n, 0)
    for s in range(n):
        for i in range(tab[s, T_NIN]):
            rec[tab[s, T_INS] + i] += shift


@njit(cache=True, error_model="numpy")
def read_values(tab, rec, reads_in, reads_out, addrs):
    """For each address in `addrs`: whether a slot there has a value some adjoint reads
    (`reads_in` / `reads_out`: per opcode, the adjoint reads its inputs' / its output's)."""
    need = np.zeros(tab.shape[0], np.uint8)
    for e in range(tab.shape[0]):
        op = tab[e, T_OP]
        if op < 0:
            continue
        if reads_out[op]:
            need[e] = 1
        if reads_in[op]:
            for i in range(tab[e, T_NIN]):
                need[rec[tab[e, T_INS] + i]] = 1
    out = np.zeros(addrs.shape[0], np.uint8)
    for s in range(tab.shape[0]):
        if need[s]:
            for j in range(addrs.shape[0]):
                if tab[s, T_ADDR] == addrs[j]:
                    out[j] = 1
    return out


@njit(cache=True, error_model="numpy")
def consumers(tab, rec, s):
    """The entries that take slot s as an input."""
    out = []
    for e in range(s + 1, tab.shape[0]):
        for i in range(tab[e, T_NIN]):
            if rec[tab[e, T_INS] + i] == s:
                out.append(e)
                break
    return np.array(out, np.int64)


@njit(cache=True, error_model="numpy")
def kernel_codes(tab):
    """The distinct kernel codes (2 * opcode + is32: one kernel per op and dtype) on a decoded
    tape, sorted."""
    top = -1
    for s in range(tab.shape[0]):
        top = max(top, tab[s, T_OP])
    seen = np.zeros(2 * top + 2, np.int64)
    for s in range(tab.shape[0]):
        if tab[s, T_OP] >= 0:
            seen[2 * tab[s, T_OP] + tab[s, T_IS32]] = 1
    n = 0
    for c in range(seen.shape[0]):  # (a loop: np.nonzero costs more compile time than it saves)
        if seen[c]:
            seen[n] = c
            n += 1
    return seen[:n]


@njit(cache=True, error_model="numpy")
def strided_map(shape, strides):
    """Flat index (C order over `shape`) -> sum(multi_index * strides)."""
    nd = shape.shape[0]
    n = 1
    for d in range(nd):
        n *= shape[d]
    out = np.empty(n, np.int64)
    idx = np.zeros(nd, np.int64)
    pos = 0
    for i in range(n):
        out[i] = pos
        d = nd - 1
        while d >= 0:
            idx[d] += 1
            pos += strides[d]
            if idx[d] < shape[d]:
                break
            pos -= strides[d] * shape[d]
            idx[d] = 0
            d -= 1
    return out


@njit(cache=True, error_model="numpy")
def walk_scatter_add(dst, off, shape, strides, g):
    """dst[off + sum(i_d * strides[d])] += g[i] over the C-order walk of `shape` (repeated
    positions accumulate): `strided_map`'s scatter without the map, the last dim the inner
    loop (convolution windows are walks of ~1e6 elements)."""
    nd = shape.shape[0]
    if nd == 0:
        dst[off] += g[0]
        return
    last, ls = shape[nd - 1], strides[nd - 1]
    if last == 0:
        return
    idx = np.zeros(nd, np.int64)
    pos, i = off, 0
    while i < g.shape[0]:
        for j in range(last):
            dst[pos + j * ls] += g[i + j]
        i += last
        d = nd - 2
        while d >= 0:  # the odometer over the outer dims
            idx[d] += 1
            pos += strides[d]
            if idx[d] < shape[d]:
                break
            pos -= strides[d] * shape[d]
            idx[d] = 0
            d -= 1


@njit(cache=True, error_model="numpy")
def slot_shape(tab, rec, s):
    o = tab[s, T_SHP]
    return rec[o:o + tab[s, T_NDIM]]


@njit(cache=True, error_model="numpy")
def contiguous_strides(shape):
    nd = shape.shape[0]
    st = np.empty(nd, np.int64)
    acc = 1
    for d in range(nd - 1, -1, -1):
        st[d] = acc
        acc *= shape[d]
    return st


@njit(cache=True, error_model="numpy")
def bcast_strides(big, small):
    """Strides that read `small` (right-aligned, size-1 dims repeated) while walking `big`."""
    nb = big.shape[0]
    ns = small.shape[0]
    sst = contiguous_strides(small)
    st = np.zeros(nb, np.int64)
    for d in range(ns):
        if small[d] != 1:
            st[nb - ns + d] = sst[d]
    return st


@njit(cache=True, inline="always", error_model="numpy")
def bmode(tab, small, big):
    """How slot `small` is read while walking slot `big` elementwise: 0 -> at the same index,
    1 -> always element 0, 2 -> through `bindex` (a broadcast)."""
    if tab[small, T_SIZE] == 1:
        return 1
    if tab[small, T_SIZE] == tab[big, T_SIZE]:
        return 0
    return 2


@njit(cache=True, error_model="numpy")
def bindex(tab, rec, small, big):
    """For each flat index of `big`, the flat index of `small` that broadcasting reads."""
    bs = slot_shape(tab, rec, big)
    return strided_map(bs, bcast_strides(bs, slot_shape(tab, rec, small)))


# ----------------------------------------------------------------------------------------------
# slot values and BLAS, for the ops' hand-written kernels (`tapegrad/ops/_kernels_*.py`)
# ----------------------------------------------------------------------------------------------

@njit(cache=True, error_model="numpy")
def _values_f64(tab, s):
    """A float64 array with slot s's values: the slot itself, or a converted copy of float32."""
    if tab[s, T_IS32]:
        return vals32(tab[s, T_ADDR], tab[s, T_SIZE]).astype(np.float64)
    return vals64(tab[s, T_ADDR], tab[s, T_SIZE])


@intrinsic
def ptr_like(typingctx, arr, addr):
    """A pointer to elements of `arr`'s dtype at address `addr`."""
    sig = types.CPointer(arr.dtype)(arr, types.int64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[1], context.get_value_type(types.CPointer(arr.dtype)))
    return sig, codegen


@njit(cache=True, inline="always", error_model="numpy")
def values_like(adj, tab, s):
    """Slot s's values as an array of `adj`'s dtype (an entry's slots share its dtype)."""
    return carray(ptr_like(adj, tab[s, T_ADDR]), tab[s, T_SIZE])


@njit(cache=True, error_model="numpy")
def gemm_acc(blas, single, ta, tb, m, n, k, a, b, c):
    """c[m, n] += op(a) @ op(b) (row-major; op transposes when ta/tb is TRANS), via the BLAS
    routine at address `blas` (sgemm when `single`, else dgemm), else loops. a, b, c are flat
    arrays of one dtype."""
    gemm(blas, single, ta, tb, m, n, k, a, b, c, True)


@njit(cache=True, error_model="numpy")
def gemm(blas, single, ta, tb, m, n, k, a, b, c, add):
    """`gemm_acc` where `add`, else c[m, n] = op(a) @ op(b) (c is not read: a first
    gradient needs no zeroed buffer)."""
    if m == 0 or n == 0:
        return
    if k == 0:  # (an empty sum; BLAS would refuse a leading dimension of 0)
        if not add:
            c[:m * n] = 0.0
        return
    lda = m if ta == TRANS else k
    ldb = k if tb == TRANS else n
    beta = 1.0 if add else 0.0
    if blas != 0:
        if single:
            sgemm(blas, ta, tb, m, n, k, a.ctypes.data, lda, b.ctypes.data, ldb,
                  c.ctypes.data, n, beta)
        else:
            dgemm(blas, ta, tb, m, n, k, a.ctypes.data, lda, b.ctypes.data, ldb,
                  c.ctypes.data, n, beta)
        return
    if not add:
        c[:m * n] = 0.0
    for i in range(m):
        for p in range(k):
            av = a[p * lda + i] if ta == TRANS else a[i * lda + p]
            for j in range(n):
                c[i * n + j] += av * (b[j * ldb + p] if tb == TRANS else b[p * ldb + j])
