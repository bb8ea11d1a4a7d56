"""maia-salt: install the MAIA medical-AI platform with SaltStack."""

__version__ = "0.1.0"
