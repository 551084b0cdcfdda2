"""Configuration: the structured schema behind ``conf/``, value validation and the config->MLP mapping."""

from nnexp.config.schema import Config, register_configs
from nnexp.config.to_model import dataset_kwargs, model_kwargs
from nnexp.config.validate import ConfigError, validate

__all__ = ["Config", "ConfigError", "dataset_kwargs", "model_kwargs", "register_configs", "validate"]
