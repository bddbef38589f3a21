"""A `package.module:factory` target for the evaluate tests: a tiny untrained VAE of digits' geometry."""
import labkit


def tiny_vae():
    return labkit.VAE(labkit.VAEConfig(image_size=8, latent_dim=4, widths=(8,), encoder_dense=(16,),
                                       decoder_dense=(16,)))


def not_a_module():
    return 42
