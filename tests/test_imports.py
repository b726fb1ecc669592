"""The app imports what a workspace needs, not every library a mechanism kind could use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_vae_workspace_does_not_import_diffusers():
    """diffusers costs seconds and ~160 MiB of the app's memory; the shipped faces workspace (a VAE
    Face) and the Explore page's modules must not pull it in, while asking for a diffusion
    mechanism still gets one."""
    code = (
        "import sys\n"
        "import core.mechanisms, workbench.explore.galleries, workbench.explore.controls, workbench.explore.curves, workbench.explore.truth, workbench.effects_page, core.runs.workspace, core.idgen, core.scm\n"
        "from core.runs.checkpoint import load_run\n"
        "face = load_run('assets/workspaces/faces/run').load_mechanism('Face', 'cpu')\n"
        "assert face.kind == 'vae'\n"
        "assert 'diffusers' not in sys.modules, 'diffusers imported for a VAE workspace'\n"
        "from core.graph import Node\n"
        "m = core.mechanisms.make_mechanism(Node('I', 'image', shape=(1, 8, 8)), [], kind='diffusion', preset='quick')\n"
        "assert type(m) is core.mechanisms.DiffusionImageMechanism and 'diffusers' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
