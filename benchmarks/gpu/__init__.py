"""The sections of the GPU benchmark suite, one module each; the driver is ``benchmarks/gpu_suite.py``.

Each section module exposes ``section_<name>(sec: Section)``, which measures its cases through
``sec.case`` (rows, status, time budget) and ``sec.timed``; ``sqrtm`` and ``gaunt`` also return the
data of their recommendations. :mod:`gpu._common` holds the problem sizes, the :class:`Section`
harness and the helpers the sections share. Imported as ``gpu`` (the driver puts ``benchmarks/`` on
``sys.path``, as it does for the ``bench_*`` modules the sections reuse).
"""
