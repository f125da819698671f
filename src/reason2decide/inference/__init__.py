"""Prediction with trained models."""

from reason2decide.inference.label_decoding import DECODING_MODES, LabelPredictions, predict_labels
from reason2decide.inference.predictor import Prediction, Predictor

__all__ = ["DECODING_MODES", "LabelPredictions", "Prediction", "Predictor", "predict_labels"]
