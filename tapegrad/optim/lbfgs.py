"""`LBFGS`: limited-memory BFGS with an optional strong-Wolfe line search, a port of
``torch/optim/lbfgs.py`` (itself from minFunc / torch7's optim).

The algorithm works on the parameters flattened into one vector, in numpy: the closure (a
forward and backward pass) costs far more than the vector algebra, so no kernel is needed. The
port keeps torch's statement order and its types: torch's 0-d tensors (dot products, ``ys``,
``ro``, ``H_diag``, a step ``t`` computed from them) are numpy scalars of the parameters' dtype
here, so that a float32 problem rounds its scalars to float32 where torch does (NumPy 2 treats
a Python float as weakly typed, as torch treats a Python number); plain Python numbers stay
Python numbers (``t = lr``, ``H_diag = 1``). In the state, numpy scalars and arrays are stored
as tapegrad tensors, as torch stores tensors.

Parameters are written in place (``add_`` and ``copy_`` in torch's code) and each write is
announced to the memory model (`optimizer.bump`: `tapegrad.ops.inplace.changed` when a graph or
a view could see the old values), so versions advance as torch's and a graph that saved a
parameter's old values raises torch's error at backward.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

from .._grad_mode import enable_grad, no_grad
from ..tensor import Tensor, _wrap
from .optimizer import _FLOATS, Optimizer, _check_writable, bump, check_lr

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimum of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clamped to
    `bounds` (default: between x1 and x2); their midpoint when the cubic has none."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)  # (d2_square is a 0-d "tensor" in torch: a numpy scalar here)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """torch's ``_strong_wolfe`` (from torch7's lswolfe.lua), statement for statement: a bracket
    around a step satisfying the strong Wolfe conditions, then zoomed in by cubic
    interpolation. Returns (loss, flat gradient, step, evaluations)."""
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket = [t_prev, t]
            bracket_f = [f_prev, f_new]
            bracket_g = [g_prev, g_new.copy()]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = [t]
            bracket_f = [f_new]
            bracket_g = [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket = [t_prev, t]
            bracket_f = [f_prev, f_new]
            bracket_g = [g_prev, g_new.copy()]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        # interpolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        # next step
        t_prev = tmp
        f_prev = f_new
        g_prev = g_new.copy()
        gtd_prev = gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    # reached max number of iterations?
    if ls_iter == max_ls:
        bracket = [0, t]
        bracket_f = [f, f_new]
        bracket_g = [g, g_new]

    # zoom phase: refine the bracket until a point satisfies the criteria
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        # line-search bracket is so small
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # too close to a boundary (after insufficient progress, or outside): 0.1 of the
        # bracket's length away from the nearest end
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo condition not satisfied or not lower than lowest point
            bracket[high_pos] = t
            bracket_f[high_pos] = f_new
            bracket_g[high_pos] = g_new.copy()
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True  # Wolfe conditions satisfied
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # old high becomes new low
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            # new point becomes new low
            bracket[low_pos] = t
            bracket_f[low_pos] = f_new
            bracket_g[low_pos] = g_new.copy()
            bracket_gtd[low_pos] = gtd_new

    t = bracket[low_pos]
    f_new = bracket_f[low_pos]
    g_new = bracket_g[low_pos]
    return f_new, g_new, t, ls_func_evals


def _scalar(x):
    """A 0-d tensor of torch's state as the numpy scalar the algorithm computes with (numbers,
    None and the rest as they are)."""
    return x._data[()] if isinstance(x, Tensor) else x


def _stored(x):
    """A value for the state: numpy scalars and arrays as tensors (torch stores tensors)."""
    if isinstance(x, np.generic):
        return _wrap(np.asarray(x))
    if isinstance(x, np.ndarray):
        return _wrap(x)
    return x


def _as(a: np.ndarray, s):
    """Scalar `s` to multiply `a` with: a 0-d "tensor" (numpy scalar) in a's dtype, as torch
    computes a dimensioned tensor with a 0-d one of its category; Python numbers as they are
    (NumPy 2 casts them weakly, as torch)."""
    return a.dtype.type(s) if isinstance(s, np.generic) else s


class LBFGS(Optimizer):
    """L-BFGS, as ``torch.optim.LBFGS``: each `step` runs up to ``max_iter`` iterations of the
    two-loop recursion over the last ``history_size`` steps, with a fixed step ``lr`` or a
    strong-Wolfe line search (``line_search_fn="strong_wolfe"``). `step` needs a closure that
    clears the gradients, computes the loss, calls ``backward`` and returns the loss. One
    parameter group only; its whole state is kept as the first parameter's, as torch's.

    >>> import tapegrad as tg
    >>> w = tg.tensor([1.5, -0.5], dtype=tg.float64, requires_grad=True)
    >>> opt = LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((w - tg.tensor([1.0, 2.0], dtype=tg.float64)) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> float(opt.step(closure))
    6.5
    >>> w
    tensor([1., 2.], dtype=tapegrad.float64, requires_grad=True)
    >>> opt.state[w]["n_iter"], opt.state[w]["func_evals"]
    (2, 3)
    """

    def __init__(self, params, lr: Union[float, Tensor] = 1, max_iter: int = 20,
                 max_eval: Optional[int] = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: Optional[str] = None) -> None:
        check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self._numel_cache: Optional[int] = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # (an unpickled optimizer has no _params: the group's list, as __init__ takes it)
        if "_params" not in self.__dict__:
            self._params = self.param_groups[0]["params"]
            self._numel_cache = None

    # -- the flat vector over the parameters ----------------------------------------------------
    def _numel(self) -> int:
        if self._numel_cache is None:
            self._numel_cache = sum(p._data.size for p in self._params)
        return self._numel_cache

    def _check_params(self) -> None:
        """What the updates write: float32 or float64 memory that can be written."""
        for p in self._params:
            d = p._data
            if d.dtype not in _FLOATS:
                raise TypeError(f"LBFGS: tapegrad's optimizers update float32 and float64 "
                                f"parameters, not {p.dtype}")
            _check_writable(d)

    def _gather_flat_grad(self) -> np.ndarray:
        """The gradients in one vector (zeros for a parameter without one), as torch.cat."""
        views = []
        for p in self._params:
            g = p.grad
            d = p._data
            if g is None:
                views.append(np.zeros(d.size, d.dtype))
            else:
                gd = g._data
                if gd.size != d.size:
                    raise RuntimeError(f"the gradient of a parameter of shape {list(d.shape)} "
                                       f"has shape {list(gd.shape)}")
                views.append(gd.reshape(-1))
        return np.concatenate(views)  # (a new array: later writes never reach a gradient)

    def _add_grad(self, step_size, update: np.ndarray) -> None:
        """p.add_(update's slice, alpha=step_size) for each parameter."""
        offset = 0
        for p in self._params:
            d = p._data
            numel = d.size
            part = update[offset:offset + numel].reshape(d.shape)
            # (torch's add_ computes in the promoted dtype and casts back to the parameter's)
            np.add(d, part * _as(part, step_size), out=d, casting="same_kind")
            bump(p, 1)
            offset += numel
        if offset != self._numel():
            raise AssertionError(f"Expected offset {offset} to equal {self._numel()}")

    def _clone_param(self) -> list[np.ndarray]:
        return [p._data.copy() for p in self._params]

    def _set_param(self, params_data: list[np.ndarray]) -> None:
        for p, pdata in zip(self._params, params_data, strict=True):
            np.copyto(p._data, pdata)
            bump(p, 1)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        with enable_grad():
            loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # -- the step -------------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any]):
        """Up to ``max_iter`` L-BFGS iterations; `closure` (called with grad mode on) clears the
        gradients, computes the loss, calls ``backward`` and returns the loss. Returns the loss
        of its first call."""
        if len(self.param_groups) != 1:
            raise AssertionError(f"Expected exactly one param_group, but got "
                                 f"{len(self.param_groups)}")
        with no_grad():
            return self._lbfgs(closure)

    def _lbfgs(self, closure: Callable[[], Any]):
        self._check_params()
        group = self.param_groups[0]
        lr = group["lr"]
        if isinstance(lr, Tensor):  # (torch's _to_scalar: a 0-d tensor, a numpy scalar here)
            lr = lr._data.reshape(())[()]
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]

        # LBFGS has only global state, registered as the first parameter's (as torch's: so
        # load_state_dict casts it)
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        # evaluate initial f(x) and df/dx
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        opt_cond = np.abs(flat_grad).max() <= tolerance_grad
        if opt_cond:
            return orig_loss

        # the state as numpy (the tensors of the lists kept: the state's lists stay in step)
        # (d, t and H_diag are stored back as new tensors only when they were recomputed, as
        # torch's)
        d_t, t_t, H_t = state.get("d"), state.get("t"), state.get("H_diag")
        d = None if d_t is None else d_t._data
        d_versions = 0
        t, H_diag = _scalar(t_t), _scalar(H_t)
        old_dirs = state.get("old_dirs")
        old_stps = state.get("old_stps")
        ro = state.get("ro")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")
        dirs = stps = ros = None
        if old_dirs is not None:
            dirs, stps = [y._data for y in old_dirs], [s._data for s in old_stps]
            ros = [_scalar(r) for r in ro]
        al_v = None

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # -- the descent direction --
            if state["n_iter"] == 1:
                d = -flat_grad
                d_versions = 0
                old_dirs, old_stps, ro = [], [], []
                dirs, stps, ros = [], [], []
                H_diag, H_t = 1, None
            else:
                # update the memory
                y = flat_grad - prev_flat_grad._data
                s = d * _as(d, t)
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        # shift history by one (limited-memory)
                        for lst in (old_dirs, old_stps, ro, dirs, stps, ros):
                            lst.pop(0)
                    r_new = 1.0 / ys
                    old_dirs.append(_wrap(y))
                    old_stps.append(_wrap(s))
                    ro.append(_stored(r_new))
                    dirs.append(y)
                    stps.append(s)
                    ros.append(r_new)
                    # update scale of initial Hessian approximation
                    H_diag, H_t = ys / y.dot(y), None

                # the approximate inverse Hessian times the gradient (two loops, one buffer)
                num_old = len(dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                if al_v is None:
                    al_v = [_scalar(a) for a in state["al"]]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al_v[i] = stps[i].dot(q) * ros[i]
                    q += dirs[i] * _as(q, -al_v[i])
                # multiply by initial Hessian; r/d is the final direction
                d = r = q * _as(q, H_diag)
                for i in range(num_old):
                    be_i = dirs[i].dot(r) * ros[i]
                    r += stps[i] * _as(r, al_v[i] - be_i)
                d_versions = num_old  # (torch's r.add_ on d)

            if prev_flat_grad is None:
                prev_flat_grad = _wrap(flat_grad.copy())
            else:
                np.copyto(prev_flat_grad._data, flat_grad)
                bump(prev_flat_grad, 1)
            prev_loss = loss

            # -- the step length --
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr

            # directional derivative
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                # no line search: a fixed step
                self._add_grad(t, d)
                if n_iter != max_iter:
                    # re-evaluate the function only if not in the last iteration (in a
                    # stochastic setting there is no use in it)
                    with enable_grad():
                        loss = closure()
                    loss = float(loss)
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # -- the conditions --
            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            # lack of progress
            if np.abs(d * _as(d, t)).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        if al_v is not None:
            state["al"][:] = [_stored(a) for a in al_v]
        if n_iter > 0:  # (each iteration computes a new d and t)
            d_t, t_t = _wrap(d), _stored(t)
            if d_versions:
                bump(d_t, d_versions)
        state["d"] = d_t
        state["t"] = t_t
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = _stored(H_diag) if H_t is None else H_t
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        return orig_loss
