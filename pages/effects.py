"""Effects page (planned): numbers behind the pictures.

Not built yet: the page says plainly what it will do, with no widgets that do nothing.
"""

import streamlit as st

STEPS = [
    ('Average effects',
     'E[y | do(x)] against E[y | x] for every value of the treatment, with bootstrap intervals.'),
    ('Direct and indirect effects',
     'Split a total effect through a chosen mediator.'),
    ('Attributes of images',
     'Probes read attributes off generated images (colour, thickness, digit, face attributes) so image outcomes get numbers too.'),
    ('Which attributes move',
     'An attribute-shift table: what changes when we intervene, and what should not.'),
]

st.title("Effects", anchor=False)
st.markdown("Put numbers on what the galleries show: average, direct and indirect effects with intervals.")
st.info("This step is planned; the Graph page works today.", icon=":material/construction:")
cols = st.columns(2)
for i, (head, body) in enumerate(STEPS):
    with cols[i % 2].container(border=True):
        st.markdown(f"**{i + 1}. {head}**")
        st.markdown(body)
st.markdown("**The same step from the command line** (for headless GPU boxes):")
st.code('python -m core effects --run runs/faces --treatment Male --outcome Face --json', language="bash")
