"""Logic behind the Explore and Effects pages: the three rungs side by side, and effect curves.

Nothing here imports Streamlit, and nothing heavier than numpy and pandas at import time (torch,
plotly and the probes load when a function needs them).  The pages import the module they need:

* ``question``   -- the query, validated once (:class:`~workbench.explore.question.ExploreQuery`,
  :class:`~workbench.explore.question.DoQuery`), its formulas and default;
* ``controls``   -- the widgets that set a node's value, and generated do-images;
* ``models``     -- the :class:`~workbench.explore.models.ModelHub` the pages keep in
  ``st.cache_resource``, the trained run's models and the sub-model a query needs;
* ``idgen_fit``  -- the ID-GEN network for a confounded graph: plan, status, fit in the background;
* ``galleries``  -- observational, interventional and counterfactual galleries;
* ``truth``      -- the ground-truth galleries of a built-in world;
* ``readouts``   -- value shares and probe-read attributes under a gallery;
* ``curves``     -- the Effects page's conditioning vs intervention curves and effect sizes.

Conditional queries ``P(Y | do(X = x), Z = z)`` are sampled by rejection where a sampler of
``P(V | do(x))`` exists (``core.scm.conditional``) and by ID-GEN's IDC path on confounded graphs.
"""
