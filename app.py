"""Chalice entry point: everything lives in the `functions` package (vendored for Lambda)."""

from functions.api.app import app

__all__ = ["app"]
