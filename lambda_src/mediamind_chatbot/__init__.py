"""MediaMind email chatbot Lambda: S3 (SES inbound mail) -> Redis claim -> backend chatbot API.

Layout: pure core (``events``, ``mail``, ``filters``), small I/O classes that take their
clients as arguments (``dedup``, ``api``), the pipeline that wires one record through them,
and a thin ``handler`` that builds everything once per container from ``config``.
"""

__all__ = ["__version__"]
__version__ = "1.0.0"
