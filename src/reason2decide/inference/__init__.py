"""Prediction with trained models."""

from reason2decide.inference.predictor import Prediction, Predictor
from reason2decide.methods.label_decoding import DECODING_MODES, LabelPredictions, predict_labels

__all__ = ["DECODING_MODES", "LabelPredictions", "Prediction", "Predictor", "predict_labels"]
