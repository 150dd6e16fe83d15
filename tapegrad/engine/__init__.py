"""The engine: the flat tape, the reverse sweep and the replay, and the Numba kernels they run.

Layering: the engine knows nothing about particular ops (it reads the op table, `_opdef.BY_CODE`)
and never imports `Tensor`; tensors, ops and autograd are built on top of it.

* `tape`     -- `Tape`: the value arena, the records, merging, release; `sweep_tape`.
* `kernels`  -- Numba: decoding a tape into its table, the reverse sweep, index maps, slot values.
* `codegen`  -- each op's kernels generated from the op table, compiled lazily and cached on disk.
* `adjoint_memory` -- large slots' adjoints sharing buffer segments by liveness.
* `replay`   -- a recorded program replayed forward and backward (`tapegrad.compile`).
* `lanes`    -- the batched replay of a program over many input sets (`func.vmap`).
* `threads`  -- the engine's thread pool (sliced adjoints, lane blocks).
* `blas`     -- dgemm / sgemm from numpy's bundled OpenBLAS, callable from Numba.
* `numba_cache` -- Numba's on-disk cache made robust to corrupted files.
"""
