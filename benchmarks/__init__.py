"""tapegrad benchmarks: ratios against baselines measured in the same run (see `benchmarks.run`).

Importing this package pins the BLAS / OpenMP / XLA thread pools of every system measured to
TAPEGRAD_BENCH_THREADS (default 1) unless the corresponding variable is already set, before numpy
or torch is imported: on the 2-core machines this project runs on (often shared with a test run),
a multithreaded OpenBLAS spins and a 64×784 @ 784×256 product swings between 0.6 ms and 50 ms,
which would drown every ratio. All systems (numpy reference, tapegrad, torch, jax) get the same
thread count; the report says which.
"""
import os

THREADS = os.environ.get("TAPEGRAD_BENCH_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)
if THREADS == "1":
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1")
