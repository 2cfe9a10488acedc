"""Transaction tracing: geth's tracers fed by execution events (docs/tracing.md).

* ``hooks``: attach a tracer to a block environment (both instruction loops);
* ``run``: apply one transaction under a tracer;
* tracers: ``calltracer``, ``structlog``, ``base`` (noop, 4byte); ``registry`` by name;
* ``historical``: re-execute a stored block up to a transaction; ``limits``: timeout and
  concurrency.
"""
