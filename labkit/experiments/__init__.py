"""The papers' experiments: Table 1, the GAN table, saturation curves, metric validation, memorisation."""
