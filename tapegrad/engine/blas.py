"""dgemm and sgemm for the Numba kernels, taken from the OpenBLAS that numpy's wheels bundle.

Why not `np.dot` inside Numba: it needs scipy, and once scipy is installed Numba imports
`scipy.linalg` whenever it loads any compiled function (~0.2 s, a third of the time to the first
gradient). So the kernels call `cblas_dgemm` / `cblas_sgemm` through their addresses, passed in
as data (keeping the kernels cacheable); where no such library is found (address 0) they fall
back to loops.
"""
from __future__ import annotations

import ctypes
import glob
import os

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

# (symbol, 64-bit integers?) as exported by numpy's bundled scipy-openblas builds
_SYMBOLS = (("scipy_cblas_{}gemm64_", True), ("scipy_cblas_{}gemm", False), ("cblas_{}gemm", False))


def _find(kind: str) -> tuple[int, bool]:
    """The address of cblas_dgemm (`kind` "d") or cblas_sgemm ("s"), and whether it takes
    64-bit integers."""
    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libdir, "*openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name, ilp64 in _SYMBOLS:
            fn = getattr(lib, name.format(kind), None)
            if fn is not None:
                return ctypes.cast(fn, ctypes.c_void_p).value or 0, ilp64
    return 0, True


_NO_BLAS = bool(os.environ.get("TAPEGRAD_NO_BLAS"))
DGEMM, ILP64 = _find("d") if not _NO_BLAS else (0, True)
SGEMM, ILP64_S = _find("s") if not _NO_BLAS else (0, True)


def _gemm_intrinsic(ilp64: bool, single: bool):
    @intrinsic
    def call(typingctx, fptr, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta):
        """C = op(A) @ op(B) + beta C, row-major float64 (float32: `single`), addresses as
        int64, beta a float64 (alpha = 1)."""
        sig = types.void(*([types.int64] * 12), types.float64)

        def codegen(context, builder, signature, args):
            i32, i64 = ir.IntType(32), ir.IntType(64)
            dbl = ir.FloatType() if single else ir.DoubleType()
            iw = i64 if ilp64 else i32
            ptr = dbl.as_pointer()
            fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, iw, iw, iw, dbl, ptr, iw, ptr,
                                                   iw, dbl, ptr, iw])
            f, ta_, tb_, m_, n_, k_, a_, lda_, b_, ldb_, c_, ldc_, beta_ = args

            def w(v):
                return v if ilp64 else builder.trunc(v, i32)
            one = ir.Constant(dbl, 1.0)
            bt = builder.fptrunc(beta_, dbl) if single else beta_
            builder.call(builder.inttoptr(f, fnty.as_pointer()), [
                ir.Constant(i32, ROW_MAJOR), builder.trunc(ta_, i32), builder.trunc(tb_, i32),
                w(m_), w(n_), w(k_), one, builder.inttoptr(a_, ptr), w(lda_),
                builder.inttoptr(b_, ptr), w(ldb_), bt, builder.inttoptr(c_, ptr), w(ldc_)])
            return context.get_dummy_value()
        return sig, codegen
    return call


dgemm = _gemm_intrinsic(ILP64, False)
sgemm = _gemm_intrinsic(ILP64_S, True)
