"""Settings objects: embedded default, production and test. See README for the environment."""

from config.settings import EmbeddedConfig, ProductionConfig, TestConfig, config_from_env

__all__ = ["EmbeddedConfig", "ProductionConfig", "TestConfig", "config_from_env"]
