"""The latent search's entry in the ``gzc.backends`` plugin group (see :mod:`gzc.codec.plugins`):
models are weights files; :mod:`.backend` (torch) is imported only when one is loaded."""
from ..registry import WeightsFilePlugin

PLUGIN = WeightsFilePlugin("latent-search", 2, "gzc.codec.latent_search.backend:load")   # backend ID: spec §2.1
