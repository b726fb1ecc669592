import torch

# The attributions' networks are tiny: a second thread only adds contention on a shared CPU.
torch.set_num_threads(1)
