"""Parquet schemas and I/O, the local artifact store and input manifests."""
