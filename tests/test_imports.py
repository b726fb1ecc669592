"""The app imports what a workspace needs, not every library a mechanism kind could use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_vae_models_and_the_app_pages_do_not_import_diffusers():
    """diffusers costs seconds and ~160 MiB of the app's memory: the Explore and Effects pages' modules
    and a VAE image model must not pull it in, while the shipped workspace's latent flow Face and a
    diffusion mechanism still get it."""
    code = (
        "import sys\n"
        "import core.mechanisms, workbench.explore.galleries, workbench.explore.controls, workbench.explore.curves, workbench.explore.truth, workbench.effects_page, core.runs.workspace, core.idgen, core.scm\n"
        "from core.graph import Node\n"
        "from core.runs.checkpoint import load_run\n"
        "vae = core.mechanisms.make_mechanism(Node('I', 'image', shape=(3, 16, 16)), [Node('A', 'binary')], kind='vae', preset='quick')\n"
        "assert vae.kind == 'vae' and 'diffusers' not in sys.modules, 'diffusers imported for a VAE'\n"
        "face = load_run('assets/workspaces/faces/run').load_mechanism('Face', 'cpu')\n"
        "assert face.kind == 'latent_flow' and 'diffusers' in sys.modules\n"
        "m = core.mechanisms.make_mechanism(Node('I', 'image', shape=(1, 8, 8)), [], kind='diffusion', preset='quick')\n"
        "assert type(m) is core.mechanisms.DiffusionImageMechanism\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
