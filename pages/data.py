"""Data page (planned): bring a data set that matches the graph.

Not built yet: the page says plainly what it will do, with no widgets that do nothing.
"""

import streamlit as st

STEPS = [
    ('Pick a built-in world',
     'Sample a synthetic world whose mechanisms are known: Napkin digits (coloured digits with a hidden colour confounder), Morpho digits (thickness causes intensity, both shape the image), cartoon Faces (a hidden tie between Male and Young), or small discrete worlds (back-door, front-door, napkin). Ground truth comes with them.'),
    ('Or bring your own',
     "A CSV whose columns are named after the graph's nodes; image columns hold paths to PNG files. A dataset folder (data.csv, images/<column>/<row>.png, meta.json) also works."),
    ('Check it against the graph',
     'Every node needs a column; types must match (binary 0/1, categorical levels, image shapes). Mismatches get one clear line each, before anything trains.'),
    ('Look at it',
     'A table preview, per-column summaries and an image gallery per image node.'),
]

st.title("Data", anchor=False)
st.markdown("Give every node of your graph a column of data: numbers, categories or images.")
st.info("This step is planned; the Graph page works today.", icon=":material/construction:")
cols = st.columns(2)
for i, (head, body) in enumerate(STEPS):
    with cols[i % 2].container(border=True):
        st.markdown(f"**{i + 1}. {head}**")
        st.markdown(body)
st.markdown("**The same step from the command line** (for headless GPU boxes):")
st.code('python -m core world napkin_digits --n 5000 --out data/napkin --size 16 --seed 0', language="bash")
