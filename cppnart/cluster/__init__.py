"""Rendering on a Ray cluster: the same bands, frames and tiles as a local render, computed by
Ray tasks and handed back in order (``RayRenderer``), and a way to connect (``connected``).

Ray is an extra (``pip install -e ".[ray]"`` from the clone) imported only when a cluster is asked for.
"""
