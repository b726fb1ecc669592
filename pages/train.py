"""Train page (planned): fit one conditional generative model per node.

Not built yet: the page says plainly what it will do, with no widgets that do nothing.
"""

import streamlit as st

STEPS = [
    ('Choose a preset',
     'quick (minutes on a CPU) or full (a GPU); every size and step count can be changed.'),
    ('Mechanisms by node type',
     'binary and categorical: a small network with Gumbel-max abduction; continuous: a conditional normalising flow (exact inversion); image: a conditional diffusion U-Net (DDIM sampling and inversion) or a fast conditional VAE.'),
    ('Watch progress',
     'Live loss curves per node, samples as they improve, time left. Training runs on CUDA, MPS or the CPU (the sidebar shows which).'),
    ('Stop and resume',
     'Checkpoints are safetensors weights plus a JSON manifest written atomically, so a stopped run resumes where it left off.'),
]

st.title("Train", anchor=False)
st.markdown("Fit one conditional generative model per node, each conditioned on its parents in the graph.")
st.info("This step is planned; the Graph page works today.", icon=":material/construction:")
cols = st.columns(2)
for i, (head, body) in enumerate(STEPS):
    with cols[i % 2].container(border=True):
        st.markdown(f"**{i + 1}. {head}**")
        st.markdown(body)
st.markdown("**The same step from the command line** (for headless GPU boxes):")
st.code('python -m core train --graph assets/graphs/napkin.json --data data/napkin --out runs/napkin --preset quick', language="bash")
