import os
import sys

import torch

# Tests must pass on a 2-core CPU machine; keep torch from oversubscribing it.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
