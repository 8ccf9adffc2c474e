"""Hark: a self-hostable NPS / CSAT / CES / CSI collection API for AWS."""
