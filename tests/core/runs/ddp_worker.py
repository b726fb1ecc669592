"""One process of the two-process training test (run by ``torchrun -m``): trains two nodes and
prints its process count, steps and a weight checksum."""

import sys

import torch

from core.runs.train import TrainOptions, train
from tests.core.runs.test_train import GRAPH, make_data

torch.set_num_threads(1)
r = train(GRAPH, make_data(200), sys.argv[1], nodes=["X", "I"],
          options=TrainOptions(preset="quick", steps=6, kinds={"I": "vae"}, device="cpu", checkpoint_every=3))
checksum = sum(float(p.double().sum()) for p in r.nodes["I"].mechanism.parameters())
print("RESULT", r.nodes["I"].metrics.get("processes"), r.nodes["I"].steps_done, repr(checksum))
