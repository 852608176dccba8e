"""Training parameters checked against each other and against the data, before any training.

Without these checks the failures come from deep inside skorch or torch, after the data have
been validated and the model built, in their words: an optimizer that is not one, a keyword it
does not take, a validation split that leaves one side empty. Here they come first and name the
estimator parameter to change.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from fnmatch import fnmatch

import torch

__all__ = ["check_optimizer", "check_validation_split"]

#: Keywords the estimator passes to every optimizer itself: they are estimator parameters (the
#: schedule, warm starts and searches read them there), never ``optimizer_params`` entries.
_ESTIMATOR_KEYWORDS = ("lr", "weight_decay")


def _describe(value: object) -> str:
    return f"{value!r} of type {type(value).__name__}"


def _needs_closure(optimizer: type[torch.optim.Optimizer]) -> bool:
    """Whether ``optimizer.step`` requires a closure (a ``closure`` argument without default)."""
    try:
        parameters = inspect.signature(optimizer.step).parameters
    except (TypeError, ValueError):  # pragma: no cover - a step without a signature
        return False
    closure = parameters.get("closure")
    return closure is not None and closure.default is inspect.Parameter.empty


def _accepted_keywords(optimizer: type[torch.optim.Optimizer]) -> set[str] | None:
    """The keywords ``optimizer(params, ...)`` takes, or None when it takes any (``**kwargs``)."""
    try:
        parameters = inspect.signature(optimizer).parameters
    except (TypeError, ValueError):  # pragma: no cover - a class without a signature
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return {
        name
        for name, p in parameters.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    } - {"params"}


def _trial_step(optimizer: type[torch.optim.Optimizer], kwargs: dict, device: str) -> None:
    """Build ``optimizer`` on dummy parameters and take one step; raise what it raises.

    The dummies stand for the model's weights (a matrix) and biases (a vector), on the training
    device (``fused``/``capturable`` depend on it). Zero gradients: nothing of the caller's
    changes, and no random number is drawn.
    """
    params = [
        torch.zeros(2, 2, dtype=torch.float32, device=device, requires_grad=True),
        torch.zeros(2, dtype=torch.float32, device=device, requires_grad=True),
    ]
    for p in params:
        p.grad = torch.zeros_like(p)
    optimizer(params, **kwargs).step()


def _check_param_groups(groups: object) -> list[tuple[str, Mapping]]:
    """skorch's ``param_groups``: ``(pattern, {keyword: value})`` pairs, patterns matched with
    :func:`fnmatch.fnmatch` against the model's parameter names (:func:`check_param_groups_match`
    checks, once the model exists, that each matches something)."""
    if groups is None:
        return []
    if isinstance(groups, (str, bytes, Mapping)) or not isinstance(groups, (list, tuple)):
        raise TypeError(
            "optimizer_params['param_groups'] must be a list of (pattern, dict) pairs, e.g. "
            f"[('*.nets.*', {{'lr': 3e-3}})], got {_describe(groups)}."
        )
    checked = []
    for i, entry in enumerate(groups):
        ok = isinstance(entry, (list, tuple)) and len(entry) == 2
        if not ok or not isinstance(entry[0], str) or not isinstance(entry[1], Mapping):
            raise TypeError(
                f"optimizer_params['param_groups'][{i}] must be a (pattern, dict) pair: a "
                "parameter-name pattern (fnmatch, e.g. '*.nets.*') and the group's optimizer "
                f"keywords (e.g. {{'lr': 3e-3}}), got {_describe(entry)}."
            )
        for key in entry[1]:
            if not isinstance(key, str) or key == "params":
                raise ValueError(
                    f"optimizer_params['param_groups'][{i}] must set optimizer keywords (str, not "
                    f"'params'), got the key {_describe(key)}."
                )
        checked.append((entry[0], entry[1]))
    return checked


def check_param_groups_match(groups: object, names: list[str]) -> None:
    """Raise a ValueError for a ``param_groups`` pattern that matches none of ``names``.

    skorch would put such a group's keywords on no parameter, silently: a misspelt pattern would
    train everything at the default learning rate.
    """
    for i, (pattern, _) in enumerate(_check_param_groups(groups)):
        if not any(fnmatch(name, pattern) for name in names):
            shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
            raise ValueError(
                f"optimizer_params['param_groups'][{i}] pattern {pattern!r} matches none of the "
                f"model's {len(names)} parameters (fnmatch on named_parameters(): {shown})."
            )


def check_optimizer(
    optimizer: object,
    optimizer_params: Mapping | None,
    *,
    lr: float,
    weight_decay: float | None = None,
    named: Mapping[str, type[torch.optim.Optimizer]] | None = None,
    device: str = "cpu",
) -> type[torch.optim.Optimizer]:
    """Check ``optimizer`` and ``optimizer_params`` before training; return the optimizer class.

    Parameters
    ----------
    optimizer : str or type
        The estimator's ``optimizer``: a name of ``named`` or a ``torch.optim.Optimizer``
        subclass.
    optimizer_params : dict or None
        The estimator's ``optimizer_params``: further keyword arguments of the optimizer.
    lr : float
        The estimator's ``lr``, passed to the optimizer.
    weight_decay : float or None, default=None
        The estimator's ``weight_decay``, passed to the optimizer; ``None`` when the estimator
        has no such parameter (it is then neither passed nor reserved).
    named : dict of str to type, default=None
        The optimizers the estimator knows by name (``{"adamw": torch.optim.AdamW, ...}``).
    device : str, default="cpu"
        The training device: the optimizer is test-built there.

    Returns
    -------
    optimizer_class : type
        The ``torch.optim.Optimizer`` subclass that training will build.

    Raises
    ------
    TypeError
        ``optimizer`` is not a ``torch.optim.Optimizer`` subclass, an ``optimizer_params`` key is
        not a string, or the optimizer raised a TypeError on the given value.
    ValueError
        The optimizer needs a closure (LBFGS), ``optimizer_params`` sets ``lr`` or
        ``weight_decay`` (estimator parameters), names a keyword the optimizer does not take, or
        holds a value the optimizer refuses when test-built and stepped on a dummy parameter.
    """
    named = dict(named or {})
    resolved = named.get(optimizer) if isinstance(optimizer, str) else optimizer
    if not (isinstance(resolved, type) and issubclass(resolved, torch.optim.Optimizer)):
        choices = ", ".join(repr(n) for n in named)
        raise TypeError(
            f"optimizer must be {'one of ' + choices + ' or ' if choices else ''}a "
            f"torch.optim.Optimizer subclass (e.g. torch.optim.RMSprop, the class, not an "
            f"instance), got {_describe(optimizer)}."
        )
    label = f"optimizer={optimizer!r}" if isinstance(optimizer, str) else f"optimizer={resolved.__name__}"
    if _needs_closure(resolved):
        raise ValueError(
            f"{label} needs a closure: its step(closure) re-evaluates the loss and gradients "
            "several times per step (a full-batch, line-search method). The estimators train on "
            "shuffled mini-batches with one gradient evaluation per step (the cosine schedule, "
            "the divergence guard and data-parallel steps count on it), which such an optimizer "
            "is not made for. Use 'adamw', 'adam', 'sgd' or another first-order torch optimizer."
        )

    params = dict(optimizer_params or {})
    for key in params:
        if not isinstance(key, str):
            raise TypeError(
                f"optimizer_params keys must be the optimizer's keyword names (str), got the key "
                f"{_describe(key)}."
            )
    reserved = {"lr": lr} if weight_decay is None else {"lr": lr, "weight_decay": weight_decay}
    for key in _ESTIMATOR_KEYWORDS:
        if key in params and key in reserved:
            readers = "the schedule, warm starts and searches" if key == "lr" else "warm starts and searches"
            raise ValueError(
                f"optimizer_params={{{key!r}: {params[key]!r}}} would override the estimator's "
                f"{key}={reserved[key]!r}: set it with the estimator parameter instead "
                f"({key}={params[key]!r}), which {readers} read."
            )
    if "params" in params:
        raise ValueError(
            "optimizer_params must not hold 'params': the estimator passes the model's weights "
            "to the optimizer itself."
        )
    groups = _check_param_groups(params.pop("param_groups", None))

    accepted = _accepted_keywords(resolved)
    if accepted is not None:
        if weight_decay is not None and "weight_decay" not in accepted:
            raise ValueError(
                f"{label} takes no weight_decay, but the estimator passes weight_decay="
                f"{weight_decay!r} to its optimizer: choose an optimizer that takes weight_decay "
                f"(e.g. 'adamw'). {resolved.__name__} takes: {sorted(accepted - {'lr'})}."
            )
        unknown = sorted(set(params) - accepted)
        if unknown:
            raise ValueError(
                f"optimizer_params has {', '.join(repr(k) for k in unknown)}, which {label} does not "
                f"take. It takes: {sorted(accepted - set(reserved))}."
            )
        for i, (pattern, group) in enumerate(groups):
            unknown = sorted(set(group) - accepted)
            if unknown:
                raise ValueError(
                    f"optimizer_params['param_groups'][{i}] ({pattern!r}) sets "
                    f"{', '.join(repr(k) for k in unknown)}, which {label} does not take. A group "
                    f"may set: {sorted(accepted)}."
                )

    def attempt(keys) -> Exception | None:
        try:
            _trial_step(resolved, {**reserved, **{k: params[k] for k in keys}}, device)
        except Exception as error:  # any failure: reported against the user's values below
            return error
        return None

    error = attempt(params)
    if error is None:
        for i, (pattern, group) in enumerate(groups):
            try:
                _trial_step(resolved, {**reserved, **params, **group}, device)
            except Exception as group_error:
                raise ValueError(
                    f"optimizer_params['param_groups'][{i}] ({pattern!r}: {dict(group)!r}) is "
                    f"refused by {resolved.__name__} (test-built and stepped on a dummy parameter "
                    f"before training): {type(group_error).__name__}: {group_error}"
                ) from group_error
        return resolved
    base_error = attempt(())
    if base_error is not None:
        raise ValueError(
            f"{label} cannot be built and stepped with "
            f"{', '.join(f'{k}={v!r}' for k, v in reserved.items())} on dummy parameters (a matrix "
            "and a vector, as the model's weights and biases): "
            f"{type(base_error).__name__}: {base_error}"
        ) from base_error
    # Name the keys that fail on their own, else the combination.
    culprits = [key for key in params if attempt((key,)) is not None] or list(params)
    shown = ", ".join(f"{k!r}: {params[k]!r}" for k in culprits)
    kind = TypeError if isinstance(error, TypeError) else ValueError
    raise kind(
        f"optimizer_params={{{shown}}} is refused by {resolved.__name__} (test-built and stepped "
        f"on a dummy parameter before training): {type(error).__name__}: {error}"
    ) from error


def check_validation_split(
    n_samples: int,
    fraction: float | None,
    *,
    early_stopping: bool,
    validation_fraction: float | None,
    unit: str = "samples",
    detail: str = "",
) -> tuple[int, int] | None:
    """Check that the validation split leaves at least one sample on each side.

    The split is skorch's ``ValidSplit(fraction)``, a scikit-learn ``ShuffleSplit``: it holds
    out ``ceil(fraction * n_samples)`` samples and trains on the rest. The same count here, so
    that a split that would fail inside skorch fails before training, naming the parameters.

    Parameters
    ----------
    n_samples : int
        Training samples (for streamed data, the length of the dataset).
    fraction : float or None
        The fraction held out (the estimator's resolved ``validation_fraction``); ``None``: no
        split, nothing to check.
    early_stopping : bool
        The estimator's ``early_stopping``, named in the message.
    validation_fraction : float or None
        The estimator's ``validation_fraction``, named in the message.
    unit : str, default="samples"
        What ``n_samples`` counts, for the message (e.g. ``"windows"``).
    detail : str, default=""
        Where the count comes from, for the message (e.g. ``"3 trajectories x 2 windows"``).

    Returns
    -------
    sizes : (int, int) or None
        Training and validation sample counts, or None without a split.

    Examples
    --------
    >>> check_validation_split(20, 0.1, early_stopping=True, validation_fraction=None)
    (18, 2)
    """
    if fraction is None:
        return None
    n_valid = math.ceil(fraction * n_samples)  # ShuffleSplit's count, float rounding included
    n_train = n_samples - n_valid
    if n_train >= 1 and n_valid >= 1:
        return n_train, n_valid
    if validation_fraction is None:
        cause = f"early_stopping={early_stopping!r} holds out validation_fraction=0.1 (its default)"
    else:
        cause = f"validation_fraction={validation_fraction!r}"
        if early_stopping:
            cause = f"early_stopping=True with {cause}"
    if n_samples < 2:
        remedy = f"at least 2 training {unit}"
    else:
        remedy = f"a validation_fraction below {(n_samples - 1) / n_samples:.3g}"
    raise ValueError(
        f"{cause}: of the {n_samples} training {unit}{f' ({detail})' if detail else ''}, {n_valid} "
        f"would go to validation and {n_train} to training; each side needs at least 1. Use "
        f"{remedy}, or train without a validation split (early_stopping=False, "
        "validation_fraction=None)."
    )
