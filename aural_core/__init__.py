"""Pure domain logic of Aural Architect: numpy/torch in, numpy/torch/dataclasses out.

Nothing here imports Prefect or knows the folder layout.
"""
