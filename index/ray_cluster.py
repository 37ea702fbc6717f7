"""Joining a Ray cluster, shared by ``claims ingest --ray`` (``index.ray_ingest``) and the sharded
search's fan-out (``search.shard_exec.RayShards``). ``import ray`` happens only in ``require_ray``, and
only when ``--ray`` is given."""

from __future__ import annotations

from index.errors import ClaimsError

# from the repository's folder: the name ``claims`` on PyPI is another project
INSTALL_HINT = "--ray needs Ray: pip install -e '.[ray]' (in the claims repository's folder)"


class RayMissingError(ClaimsError):
    """``--ray`` was given but Ray is not installed."""


def require_ray():
    """Import Ray, or raise ``RayMissingError`` naming ``pip install -e '.[ray]'``."""
    try:
        import ray
        import ray.data  # noqa: F401 - the [data] extra
    except ImportError:
        raise RayMissingError(INSTALL_HINT) from None
    return ray


def validate_workers(workers: int) -> int:
    """``workers`` (embedding actors) must be at least 1: raises ``ClaimsError`` otherwise."""
    if workers < 1:
        raise ClaimsError(f"--workers {workers}: must be at least 1")
    return workers


def connect(ray, address: str, workers: int) -> bool:
    """Join a cluster: ``local`` starts one in this process with ``num_cpus=workers`` (unless Ray is
    already initialised here, e.g. by a test), ``auto`` or ``HOST:PORT`` connects to a running one.

    Returns:
        True when this call started Ray (the caller shuts it down).
    """
    if ray.is_initialized():
        return False
    import logging

    for name in ("ray", "ray.data"):  # Ray's INFO lines (dataset plans, timings) are not ours to print
        logging.getLogger(name).setLevel(logging.WARNING)
    kwargs = {"logging_level": logging.WARNING, "include_dashboard": False, "log_to_driver": False}
    try:
        if address == "local":
            ray.init(num_cpus=workers, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except ConnectionError as e:
        raise ClaimsError(
            f"--ray {address}: cannot connect to a Ray cluster ({e}); start one with `ray start --head` "
            "or use --ray local"
        ) from None
    return True
