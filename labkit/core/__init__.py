"""The ground floor: paths, runtime (seeding, devices, atomic writes), run records, plots, version, and
where jobs and sweep points run (`cluster`: this process, a local pool or a Dask cluster)."""
