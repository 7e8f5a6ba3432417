"""xdt-rules: pre-screening of Kunming 小灯塔 digital-transformation applications."""

__version__ = "0.1.0"
