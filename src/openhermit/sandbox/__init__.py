"""Sandboxes: isolated exec and files behind one Protocol."""
