"""Paths: what customers actually do — transitions, top paths, step matrix, sessions."""

from journeylens.paths.api import Paths
from journeylens.paths.results import PathsBetween, StepMatrix, TopPaths, TransitionGraph

__all__ = ["Paths", "PathsBetween", "StepMatrix", "TopPaths", "TransitionGraph"]
