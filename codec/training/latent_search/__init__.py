"""Training of the latent-search backend's face generator (VAE-GAN) and its export."""
