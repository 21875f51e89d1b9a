"""A centre node and its link to the central (docs/centre-node.md)."""
