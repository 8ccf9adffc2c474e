"""The follow-up sweep Lambda (docs/follow-ups.md)."""
