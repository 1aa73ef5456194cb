"""Journey models and stage assignment: where every customer stands, and how they move."""
