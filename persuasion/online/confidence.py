"""The confidence sets of the online learners (kept in :mod:`persuasion.confidence`, below the learners and
the regret bound, so that neither imports the other's package)."""
from ..confidence import box, box_vertices, l1_radius, radius

__all__ = ["radius", "l1_radius", "box", "box_vertices"]
