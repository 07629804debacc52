"""HTTP routes, one module per collection."""
