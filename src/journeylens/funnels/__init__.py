"""Funnels: ordered steps within a conversion window, and where customers drop off."""

from journeylens.funnels.spec import Exclusion, FunnelSpec, Step

__all__ = ["Exclusion", "FunnelSpec", "Step"]
