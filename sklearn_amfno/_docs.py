"""The estimators' shared parameter and attribute docs, filled in with each class's own defaults.

A family's docstring says ``{common_parameters}`` and ``{common_attributes}`` where the shared
entries go; :func:`fill_doc` replaces them, reading the defaults from the class's ``__init__``
signature, so a docstring cannot drift from the code (``nn.models._docs.fill_model_doc`` does
the same for the torch models).
"""

from __future__ import annotations

import inspect
from typing import Any

COMMON_PARAMETERS_DOC = """\
width : int, default={width}
        Channels inside the operator layers.
    n_layers : int, default={n_layers}
        {n_layers_doc}
    channel_axis : None or -1, default=None
        ``None``: ``X`` is ``(n_samples, *grid)`` with one channel; ``-1``: ``X`` is
        ``(n_samples, *grid, n_channels)``. A field ``y`` has a channel axis when its rank says so.
    target_kind : {{"auto", "field", "vector"}}, default="{target_kind}"
        What ``y`` is. ``"field"``: a function on X's grid, ``(n_samples, *grid)`` or
        ``(n_samples, *grid, n_outputs)``; any other ``y`` is refused (ValueError). ``"vector"``:
        a per-sample target, ``(n_samples,)`` or ``(n_samples, k)``, learned through a pooled
        head, even when ``k`` equals the points of a 1-D grid; a ``y`` of higher rank is refused.
        ``"auto"``: a ``y`` on X's grid is a field, otherwise a per-sample target, with a
        :class:`~sklearn_amfno.TargetKindWarning` when that target looks like a
        field (``(n_samples, k)`` with ``k >= 8`` on a 1-D grid, or ``k`` a multiple of the
        grid's points on a 2-D or 3-D grid), e.g. a ``y`` that was not resampled with ``X``.
        ``target_kind_`` says what was learned.
    add_grid : bool, default=True
        Append the grid coordinates (``j / n`` per axis) to the input channels.
    loss : {{"auto", "relative_l2", "relative_h1", "mse"}} or torch.nn.Module, default="auto"
        Training loss. ``"auto"``: relative L2 error per sample for field targets (the paper's
        loss), mean squared error of standardised targets for per-sample targets.
        ``"relative_h1"`` (field targets): relative H1 error, every grid axis taken as periodic
        (spectral derivatives, :class:`sklearn_amfno.nn.losses.RelativeH1Loss`; see
        ``docs/h1_loss.md`` for non-periodic data). A ``torch.nn.Module`` instance (copied at
        each fit) or subclass (built without arguments), such as ``torch.nn.MSELoss()``, is the
        loss itself: ``loss(prediction, target)`` returns a scalar tensor, the tensors in the
        network's layout (``(n_samples, n_outputs, *grid)`` for a field, ``(n_samples, k)``
        for a per-sample target) and, as for the built-in losses, in physical units (the
        targets as given to ``fit``, never standardised). With ``sample_weight``, the module
        needs torch's ``reduction`` attribute, ``"mean"``, whose ``"none"`` gives per-sample or
        per-value losses. ``save`` stores torch.nn's losses, those of
        :mod:`sklearn_amfno.nn.losses` and classes registered with
        :func:`~sklearn_amfno.register_module` (``docs/user_guide/pipelines_and_search.md``).
    optimizer : {{"adamw", "adam", "sgd"}} or torch optimizer class, default="{optimizer}"
        The optimizer; a class (``torch.optim.Optimizer`` subclass) is built with ``lr``,
        ``weight_decay`` and ``optimizer_params``. Optimizers whose step needs a closure
        (``torch.optim.LBFGS``) are refused: training takes one gradient step per mini-batch.
    optimizer_params : dict or None, default=None
        Further keyword arguments of the optimizer (e.g. ``{{"momentum": 0.9}}`` for SGD), not
        ``lr`` or ``weight_decay`` (set those parameters). ``"param_groups"`` is skorch's list of
        ``(pattern, dict)`` pairs: the parameters whose names (``module_.named_parameters()``)
        match the :func:`fnmatch.fnmatch` pattern get the dict's keywords, e.g.
        ``{{"param_groups": [("*.nets.*", {{"lr": 3e-3}})]}}`` for AM-FNO's kernel networks (a
        group may set ``lr``; the schedule scales each group from its own). Before training, the
        optimizer is built and stepped once on a dummy parameter: a key it does not take, a value
        it refuses or a pattern that matches no parameter raises a ValueError or TypeError naming
        it.
    lr : float, default={lr}
        Learning rate.
    weight_decay : float, default={weight_decay}
        Weight decay (decoupled for AdamW).
    lr_schedule : {{"cosine", "warmup_cosine", "constant"}}, default="{lr_schedule}"
        ``"cosine"`` anneals the learning rate to zero over ``max_epochs`` (stepped per epoch).
        ``"warmup_cosine"`` first raises it linearly over 5 % of ``max_epochs`` (rounded; lr /
        n, 2 lr / n, ..., lr over those n epochs), then anneals it over the rest; below 10
        epochs it is the cosine. A ``warm_start`` fit restarts the schedule from ``lr`` over its
        own ``max_epochs``; a resumed one continues it. One schedule
        acts at a time: a ``skorch.callbacks.LRScheduler`` among ``callbacks`` replaces this one
        (``lr_schedule`` is then ignored, whatever its value).
    max_epochs : int, default={max_epochs}
        Training epochs (with ``warm_start``: further epochs).
    batch_size : int, default={batch_size}
        Samples per optimisation step; also the chunk size of ``predict``.
    num_workers : int, default={num_workers}
        Worker processes of skorch's ``DataLoader`` (its ``iterator_train__num_workers`` and
        ``iterator_valid__num_workers``) that read the samples of lazily loaded training data
        (``np.memmap``, ``h5py``/``zarr`` arrays, the readers' ``lazy=True`` output), so that
        reading overlaps training (``docs/scaling_out.md``). ``0`` reads in the training
        process. The batches, and so the fit, are the same for every value. Data in memory
        and ``predict`` (which reads its chunks itself) use no workers: they would only copy
        the rows.
    early_stopping : bool, default={early_stopping}
        Hold out ``validation_fraction`` of the data (0.1 when it is ``None``), stop when the
        validation loss has not improved by a relative ``1e-4`` for ``n_iter_no_change``
        epochs, and keep the weights of the epoch with the lowest validation loss
        (``best_epoch_``), copied in memory, never to files.
    validation_fraction : float or None, default=None
        Fraction of the training data held out for skorch's ``valid_loss`` (early stopping and
        validation-monitoring callbacks): ``ceil(validation_fraction * n_samples)`` samples, as
        scikit-learn's ``ShuffleSplit``; a split that leaves no training or no validation sample
        is refused before training. ``None`` trains on everything, unless ``early_stopping`` is
        set.
    n_iter_no_change : int, default={n_iter_no_change}
        Epochs without improvement of the validation loss before early stopping stops (another
        value without ``early_stopping`` warns: :class:`~sklearn_amfno.IgnoredParameterWarning`).
    warm_start : bool, default={warm_start}
        Continue from the fitted weights instead of starting afresh: ``fit`` trains
        ``max_epochs`` more epochs, the history (``net_.history``) goes on, and the optimizer
        keeps its state (moments, step counts) and takes the current ``lr``, ``weight_decay``
        and ``optimizer_params``. The scaling statistics of the first fit are kept. Refused
        (ValueError) when the grid, the channels, the kind of target, a parameter that shapes
        the model or the optimizer changed.
    device : str, default="auto"
        Torch device; ``"auto"`` takes CUDA when available. Under ``torchrun`` (a process
        group of several ranks) ``fit`` trains data-parallel: ``batch_size`` stays the global
        batch, each rank trains on its shard of it, on ``cuda:<LOCAL_RANK>`` for CUDA, and only
        rank 0 writes files (``docs/scaling_out.md``).
    precision : {{"fp32", "bf16"}}, default="fp32"
        ``"bf16"``: forward passes (training and ``predict``) under bfloat16 autocast, with the
        FFTs, the mode contraction and the spectral kernels kept in float32 and the loss computed
        in float32 (mixed precision; for GPUs with bfloat16 units, often slower on CPUs).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split. Equal seeds give
        bit-identical fits on CPU.
    verbose : int, default=0
        ``1``: a progress bar over the epochs (epoch, losses, time left); ``>= 2``: skorch's
        per-epoch table instead.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (early stopping, checkpoints, ...), copied at each fit. A callback
        monitoring a validation quantity needs ``validation_fraction``; checkpoint callbacks
        write into a subdirectory of their ``dirname`` per fit (``checkpoint_dirs_``), so
        parallel fits never overwrite each other. A ``skorch.callbacks.LRScheduler`` replaces
        the built-in ``lr_schedule`` (the learning rate follows the user's schedule alone). An
        ``EpochScoring`` or ``BatchScoring`` whose ``scoring`` is ``None``, a scorer name
        (``"r2"``) or a scorer (``sklearn_amfno.metrics.relative_l2_scorer``) scores
        predictions and targets in the layout of ``predict``, flattened to
        ``(n_samples, n_values)`` for scikit-learn's scorers
        (``docs/user_guide/pipelines_and_search.md``).
    on_divergence : {{"raise", "restore"}}, default="{on_divergence}"
        What a NaN or infinite training loss does: ``"raise"`` stops the fit with
        :class:`~sklearn_amfno.TrainingDivergedError` (a fitted estimator stays as it was);
        ``"restore"`` keeps the weights of the last epoch whose losses were finite, stops, and
        warns (``training_status_ == "diverged"``)."""

COMMON_ATTRIBUTES_DOC = """\
net_ : skorch.NeuralNetRegressor
        The trained network with its history (``net_.history``), on ``device_``.
    module_ : torch.nn.Module
        The trained torch module (``net_.module_``).
    device_ : str
        The device training ran on.
    n_dim_ : int
        Number of grid axes seen in fit.
    grid_shape_ : tuple of int
        Training grid. ``predict`` accepts other grids of the same dimension.
    n_channels_in_ : int
        Input channels.
    n_features_in_ : int
        Values per training sample (grid points times channels); for a 2-D ``X`` this is
        ``X.shape[1]``, as in scikit-learn.
    target_kind_ : {"field", "vector", "scalar"}
        What ``y`` was: a field on X's grid or a per-sample quantity.
    n_outputs_ : int
        Output channels of a field target, outputs of a per-sample target.
    n_parameters_ : int
        Trainable parameters, counted in real scalars (a complex weight counts two).
    n_epochs_ : int
        Epochs trained, over all ``warm_start`` fits (``len(net_.history)``).
    best_epoch_ : int or None
        With ``early_stopping``: the epoch (counted from 1, as in the history) whose weights were
        kept, the one with the lowest validation loss. ``None`` without early stopping.
    training_status_ : {"completed", "stopped", "diverged", "interrupted", "in_progress"}
        How the last fit ended: all ``max_epochs``; stopped by early stopping or a callback;
        rolled back after a non-finite loss (``on_divergence="restore"``); or interrupted by
        Ctrl-C (the estimator keeps the weights reached and ``fit`` re-raises the
        ``KeyboardInterrupt``). ``"in_progress"``: a checkpoint saved during the fit
        (:class:`sklearn_amfno.callbacks.EstimatorCheckpoint`), which ``fit(X, y,
        resume=True)`` completes.
    checkpoint_dirs_ : list of str
        Where this fit's checkpoint callbacks wrote (empty without such callbacks)."""


def fill_doc(cls: type[Any], n_layers_doc: str = "Number of operator layers.") -> type[Any]:
    """Insert the shared parameter and attribute descriptions, with ``cls``'s own defaults.

    The defaults are read from ``cls.__init__``'s signature, so a docstring cannot drift from
    the code; ``n_layers_doc`` lets a family say what its layers are.
    """
    defaults = {name: param.default for name, param in inspect.signature(cls.__init__).parameters.items()}
    common = COMMON_PARAMETERS_DOC.format(n_layers_doc=n_layers_doc, **defaults)
    cls.__doc__ = (
        (cls.__doc__ or "")
        .replace("{common_parameters}", common)
        .replace("{common_attributes}", COMMON_ATTRIBUTES_DOC)
    )
    return cls
