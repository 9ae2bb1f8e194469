"""JAX devices for the command line: one CPU device per core."""


def one_device_per_core() -> None:
    """Expose each CPU core as a JAX device, so that the circuit fit's starts run in parallel.

    One device per core runs one time loop per core, which on CPU is faster than XLA's
    threading inside one loop (multiscale.fit._trial_fit). Only possible before JAX's
    first computation; later (e.g. ``main`` called again in one process) nothing changes.
    """
    import os

    import jax

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        jax.config.update("jax_num_cpu_devices", max(1, cores or 1))
    except RuntimeError:
        pass
