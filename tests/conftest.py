"""Suite-wide settings."""

from hypothesis import settings

# No per-example deadline: a property's first example may build its format's grammar, and a loaded CI
# host stretches wall-clock time; the properties test behaviour, the benchmarks time it.
settings.register_profile("streamparse", deadline=None)
settings.load_profile("streamparse")
