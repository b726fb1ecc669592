"""Causal attributions of a predictor: ACE curves of each input (total, direct, indirect), AHCE-style
ante-hoc training, and scores against ground truth.

* :mod:`~core.effects.attributions.curves`: the curves (:func:`ace_curves`, :func:`explain_predictor`);
* :mod:`~core.effects.attributions.input_scm`: how an intervention on one input moves the others;
* :mod:`~core.effects.attributions.training`: plain and ante-hoc predictor training;
* :mod:`~core.effects.attributions.scores`: RMSE and Frechet distance against true curves;
* :mod:`~core.effects.attributions.tasks`: tasks whose true curves are known;
* :mod:`~core.effects.attributions.predictor_files`: a predictor's folder on disk (reader and writer);
* :mod:`~core.effects.attributions.networks`: the small networks all of them use.
"""

from core.effects.attributions.curves import (
    KINDS,
    Curves,
    Predictor,
    ace_curves,
    as_function,
    centred,
    default_grid,
    explain_predictor,
    kernel_regression,
)
from core.effects.attributions.input_scm import InputSCM, InputsSCM, SCMInputs, fit_input_scm
from core.effects.attributions.networks import MLP, Standardised
from core.effects.attributions.predictor_files import load_predictor, predictor_spec, save_predictor
from core.effects.attributions.scores import frechet_distance, mean_scores, rmse, scale_by_truth, score_curves
from core.effects.attributions.tasks import (
    SyntheticTask,
    WorldTask,
    image_ink,
    morpho_ink_task,
    world_true_curves,
)
from core.effects.attributions.training import TrainConfig, train_predictor

__all__ = [
    "KINDS",
    "MLP",
    "Curves",
    "InputSCM",
    "InputsSCM",
    "Predictor",
    "SCMInputs",
    "Standardised",
    "SyntheticTask",
    "TrainConfig",
    "WorldTask",
    "ace_curves",
    "as_function",
    "centred",
    "default_grid",
    "explain_predictor",
    "fit_input_scm",
    "frechet_distance",
    "image_ink",
    "kernel_regression",
    "load_predictor",
    "mean_scores",
    "morpho_ink_task",
    "predictor_spec",
    "rmse",
    "save_predictor",
    "scale_by_truth",
    "score_curves",
    "train_predictor",
    "world_true_curves",
]
