"""veganalign: fine-tune a language model to follow a written vegan-ethics spec, and prove it."""

__version__ = "0.1.0"
