"""The selection and sorting algorithms behind torch's CPU `topk`, `kthvalue`, `median(dim)`,
`nanmedian(dim)` and `mode`, reproduced step by step in Numba so that ties get torch's indices.

torch does not define which of several equal elements these ops return: the answer is whatever
its algorithm leaves in place -- libstdc++'s `std::partial_sort` / `std::nth_element` /
`std::sort` (introsort, introselect, heap select; `bits/stl_algo.h`, `bits/stl_heap.h`) for
`topk`, `median(dim)` and `mode`, and ATen's own `quick_select_template` (`SortingUtils.h`) for
`kthvalue`. Running the same steps with the same comparisons gives the same answer, ties and
NaNs included (checked against torch on thousands of random inputs full of ties).

Every routine works on one row: parallel arrays `v` (values: float64, or int64 for integer
inputs) and `ix` (the original positions), moved together as torch moves its (value, index)
pairs. `kind` picks the comparison ``comp(a, b)`` ("a goes before b"):

* ``GT``: a > b, NaN before every number (topk largest, kthvalue's quick select),
* ``LT``: a < b, NaN after every number (topk smallest),
* ``PLAIN``: a < b (mode's sort; NaN compares false, as in C++),
* ``MEDIAN``: a < b, equal values by position (median's total order; no NaN reaches it),
* ``NANMEDIAN``: ``MEDIAN``, and every number before NaN (nanmedian).
"""
import numpy as np
from numba import njit

GT, LT, PLAIN, MEDIAN, NANMEDIAN = 0, 1, 2, 3, 4


@njit(cache=True, inline="always")
def _comp(kind, av, ai, bv, bi):
    if kind == GT:
        return (av != av and bv == bv) or av > bv
    if kind == LT:
        return (av == av and bv != bv) or av < bv
    if kind == PLAIN:
        return av < bv
    less = av < bv or (av == bv and ai < bi)
    if kind == MEDIAN:
        return less
    return less or (bv != bv and av == av)


@njit(cache=True, inline="always")
def _c(kind, v, ix, i, j):
    return _comp(kind, v[i], ix[i], v[j], ix[j])


@njit(cache=True, inline="always")
def _swap(v, ix, i, j):
    v[i], v[j] = v[j], v[i]
    ix[i], ix[j] = ix[j], ix[i]


@njit(cache=True)
def _lg(n):
    r = 0
    while n > 1:
        n >>= 1
        r += 1
    return r


@njit(cache=True)
def _move_median_to_first(v, ix, result, a, b, c, kind):
    if _c(kind, v, ix, a, b):
        if _c(kind, v, ix, b, c):
            _swap(v, ix, result, b)
        elif _c(kind, v, ix, a, c):
            _swap(v, ix, result, c)
        else:
            _swap(v, ix, result, a)
    elif _c(kind, v, ix, a, c):
        _swap(v, ix, result, a)
    elif _c(kind, v, ix, b, c):
        _swap(v, ix, result, c)
    else:
        _swap(v, ix, result, b)


@njit(cache=True)
def _partition_pivot(v, ix, first, last, kind):
    """libstdc++'s __unguarded_partition_pivot: median of three moved to `first`, then the
    unguarded partition of [first + 1, last) around it; returns the cut."""
    mid = first + (last - first) // 2
    _move_median_to_first(v, ix, first, first + 1, mid, last - 1, kind)
    lo, hi, p = first + 1, last, first
    while True:
        while _c(kind, v, ix, lo, p):
            lo += 1
        hi -= 1
        while _c(kind, v, ix, p, hi):
            hi -= 1
        if not lo < hi:
            return lo
        _swap(v, ix, lo, hi)
        lo += 1


@njit(cache=True)
def _adjust_heap(v, ix, first, hole, length, val, vi, kind):
    top = hole
    second = hole
    while second < (length - 1) // 2:
        second = 2 * (second + 1)
        if _c(kind, v, ix, first + second, first + second - 1):
            second -= 1
        v[first + hole], ix[first + hole] = v[first + second], ix[first + second]
        hole = second
    if (length & 1) == 0 and second == (length - 2) // 2:
        second = 2 * (second + 1)
        v[first + hole], ix[first + hole] = v[first + second - 1], ix[first + second - 1]
        hole = second - 1
    # __push_heap
    parent = (hole - 1) // 2
    while hole > top and _comp(kind, v[first + parent], ix[first + parent], val, vi):
        v[first + hole], ix[first + hole] = v[first + parent], ix[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    v[first + hole], ix[first + hole] = val, vi


@njit(cache=True)
def _pop_heap(v, ix, first, last, result, kind):
    val, vi = v[result], ix[result]
    v[result], ix[result] = v[first], ix[first]
    _adjust_heap(v, ix, first, 0, last - first, val, vi, kind)


@njit(cache=True)
def _heap_select(v, ix, first, middle, last, kind):
    length = middle - first
    if length >= 2:  # __make_heap
        parent = (length - 2) // 2
        while True:
            _adjust_heap(v, ix, first, parent, length, v[first + parent], ix[first + parent],
                         kind)
            if parent == 0:
                break
            parent -= 1
    for i in range(middle, last):
        if _c(kind, v, ix, i, first):
            _pop_heap(v, ix, first, middle, i, kind)


@njit(cache=True)
def _sort_heap(v, ix, first, last, kind):
    while last - first > 1:
        last -= 1
        _pop_heap(v, ix, first, last, last, kind)


@njit(cache=True)
def partial_sort(v, ix, first, middle, last, kind):
    """std::partial_sort: [first, middle) holds the smallest (by `kind`) elements, sorted."""
    _heap_select(v, ix, first, middle, last, kind)
    _sort_heap(v, ix, first, middle, kind)


@njit(cache=True)
def _linear_insert(v, ix, last, kind):
    val, vi = v[last], ix[last]
    nxt = last - 1
    while _comp(kind, val, vi, v[nxt], ix[nxt]):
        v[last], ix[last] = v[nxt], ix[nxt]
        last = nxt
        nxt -= 1
    v[last], ix[last] = val, vi


@njit(cache=True)
def _insertion_sort(v, ix, first, last, kind):
    if first == last:
        return
    for i in range(first + 1, last):
        if _c(kind, v, ix, i, first):
            val, vi = v[i], ix[i]
            for j in range(i, first, -1):  # move_backward
                v[j], ix[j] = v[j - 1], ix[j - 1]
            v[first], ix[first] = val, vi
        else:
            _linear_insert(v, ix, i, kind)


@njit(cache=True)
def sort(v, ix, first, last, kind):
    """std::sort (introsort, then the final insertion sort; threshold 16)."""
    if first == last:
        return
    # __introsort_loop without recursion: the ranges it recurses into are disjoint, so the order
    # in which they are processed does not change the result
    stack = [(first, last, _lg(last - first) * 2)]
    while stack:
        lo, hi, depth = stack.pop()
        while hi - lo > 16:
            if depth == 0:
                partial_sort(v, ix, lo, hi, hi, kind)
                break
            depth -= 1
            cut = _partition_pivot(v, ix, lo, hi, kind)
            stack.append((cut, hi, depth))
            hi = cut
    if last - first > 16:
        _insertion_sort(v, ix, first, first + 16, kind)
        for i in range(first + 16, last):
            _linear_insert(v, ix, i, kind)
    else:
        _insertion_sort(v, ix, first, last, kind)


@njit(cache=True)
def nth_element(v, ix, first, nth, last, kind):
    """std::nth_element (introselect)."""
    if first == last or nth == last:
        return
    depth = _lg(last - first) * 2
    while last - first > 3:
        if depth == 0:
            _heap_select(v, ix, first, nth + 1, last, kind)
            _swap(v, ix, first, nth)
            return
        depth -= 1
        cut = _partition_pivot(v, ix, first, last, kind)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(v, ix, first, last, kind)


@njit(cache=True)
def quick_select(v, ix, k):
    """ATen's quick_select_template with kthvalue's comparison (NaN largest): afterwards
    position k holds the (k+1)-th smallest element."""
    lo, hi = 0, v.shape[0] - 1
    while True:
        if hi <= lo:
            return
        if hi == lo + 1:
            if _c(GT, v, ix, lo, hi):
                _swap(v, ix, lo, hi)
            return
        p = lo + (hi - lo) // 2
        _swap(v, ix, p, lo + 1)
        if _c(GT, v, ix, lo + 1, hi):
            _swap(v, ix, lo + 1, hi)
        if _c(GT, v, ix, lo, hi):
            _swap(v, ix, lo, hi)
        if _c(GT, v, ix, lo + 1, lo):
            _swap(v, ix, lo + 1, lo)
        i, j = lo + 1, hi
        piv, pi = v[lo], ix[lo]
        while True:
            i += 1
            while _comp(GT, piv, pi, v[i], ix[i]):
                i += 1
            j -= 1
            while _comp(GT, v[j], ix[j], piv, pi):
                j -= 1
            if j < i:
                break
            _swap(v, ix, i, j)
        _swap(v, ix, lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1


# ------------------------------------------------------------------------------------------------
# the ops, over the rows of a 2-D C-ordered array (the reduced dim last)
# ------------------------------------------------------------------------------------------------
@njit(cache=True)
def topk_rows(x, k, largest, sorted_, vals, idx):
    """torch's topk_impl_loop (TopKImpl.h) per row of x: `vals`/`idx` (rows, k)."""
    n = x.shape[1]
    kind = GT if largest else LT
    v = np.empty(n, x.dtype)
    ix = np.empty(n, np.int64)
    for r in range(x.shape[0]):
        for j in range(n):
            v[j] = x[r, j]
            ix[j] = j
        if k == 0:
            continue
        if k * 64 <= n:
            partial_sort(v, ix, 0, k, n, kind)
        else:
            nth_element(v, ix, 0, k - 1, n, kind)
            if sorted_:
                sort(v, ix, 0, k - 1, kind)
        for j in range(k):
            vals[r, j] = v[j]
            idx[r, j] = ix[j]


@njit(cache=True)
def kthvalue_rows(x, k, vals, idx):
    """torch's kthvalue per row (k 1-based)."""
    n = x.shape[1]
    v = np.empty(n, x.dtype)
    ix = np.empty(n, np.int64)
    for r in range(x.shape[0]):
        for j in range(n):
            v[j] = x[r, j]
            ix[j] = j
        quick_select(v, ix, k - 1)
        vals[r] = v[k - 1]
        idx[r] = ix[k - 1]


@njit(cache=True)
def median_rows(x, ignore_nan, vals, idx):
    """torch's median_with_indices_impl per row: the first NaN if there is one (median), else
    the lower median by nth_element over positions (nanmedian: of the numbers)."""
    n = x.shape[1]
    v = np.empty(n, x.dtype)
    ix = np.empty(n, np.int64)
    for r in range(x.shape[0]):
        nan_at = -1
        nans = 0
        for j in range(n):
            v[j] = x[r, j]
            ix[j] = j
            if x[r, j] != x[r, j]:
                nans += 1
                if nan_at < 0:
                    nan_at = j
        if not ignore_nan and nan_at >= 0:
            vals[r] = x[r, nan_at]
            idx[r] = nan_at
            continue
        # C++ integer division truncates toward zero: (0 - 1) / 2 is 0
        m = n - nans if ignore_nan else n
        nth = (m - 1) // 2 if m >= 1 else 0
        nth_element(v, ix, 0, nth, n, NANMEDIAN if ignore_nan else MEDIAN)
        vals[r] = v[nth]
        idx[r] = ix[nth]


@njit(cache=True)
def mode_rows(x, vals, idx):
    """torch's mode per row: std::sort of (value, position) by value, then the longest run
    (the first one of that length wins); its last element's position."""
    n = x.shape[1]
    v = np.empty(n, x.dtype)
    ix = np.empty(n, np.int64)
    for r in range(x.shape[0]):
        for j in range(n):
            v[j] = x[r, j]
            ix[j] = j
        sort(v, ix, 0, n, PLAIN)
        best_v = v[0]  # (callers never pass empty rows)
        best_i = 0
        run = 0
        most = 0
        for i in range(n):
            run += 1
            if i == n - 1 or v[i] != v[i + 1]:
                if run > most:
                    best_v, best_i, most = v[i], ix[i], run
                run = 0
        vals[r] = best_v
        idx[r] = best_i


@njit(cache=True)
def sort_rows(x, descending, vals, idx):
    """torch's sort with stable=False per row: std::sort of (value, position) pairs by value
    (KeyValueCompAsc / KeyValueCompDesc: NaN largest)."""
    n = x.shape[1]
    kind = GT if descending else LT
    v = np.empty(n, x.dtype)
    ix = np.empty(n, np.int64)
    for r in range(x.shape[0]):
        for j in range(n):
            v[j] = x[r, j]
            ix[j] = j
        sort(v, ix, 0, n, kind)
        for j in range(n):
            vals[r, j] = v[j]
            idx[r, j] = ix[j]
