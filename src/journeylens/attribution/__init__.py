"""Attribution: credit for conversions shared among the touchpoints that preceded them."""

from journeylens.attribution.api import DEFAULT_MODELS, MODELS, Attribution
from journeylens.attribution.paths import PathTable
from journeylens.attribution.results import AttributionResult, ConversionPaths, RoiResult
from journeylens.attribution.spec import AttributionSpec

__all__ = [
    "DEFAULT_MODELS",
    "MODELS",
    "Attribution",
    "AttributionResult",
    "AttributionSpec",
    "ConversionPaths",
    "PathTable",
    "RoiResult",
]
