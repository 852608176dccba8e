import io
import pickle

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _single_torch_thread():
    # The suite trains many tiny models: thread start-up costs more than it saves on 2 cores,
    # and one thread keeps timings stable on a shared machine.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class _PicklerOfTorchBefore24(pickle.Pickler):
    """Pickles as torch < 2.4 does: a ``torch.Generator`` cannot be pickled."""

    def reducer_override(self, obj):
        if isinstance(obj, torch.Generator):
            raise TypeError("cannot pickle 'torch._C.Generator' object")
        return NotImplemented


@pytest.fixture
def dumps_as_torch_before_2_4():
    """``pickle.dumps`` as under torch < 2.4, which cannot pickle a ``torch.Generator``."""

    def dumps(obj) -> bytes:
        buffer = io.BytesIO()
        _PicklerOfTorchBefore24(buffer).dump(obj)
        return buffer.getvalue()

    return dumps
