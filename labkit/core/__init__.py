"""The ground floor: paths, runtime (seeding, devices, atomic writes), run records, plots, version."""
