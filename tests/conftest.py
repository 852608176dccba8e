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
