"""dqs: data-quality summarizer. The library lives in `dqs.engine`, the CLI in `dqs.cli`."""

__version__ = "0.1.0"
