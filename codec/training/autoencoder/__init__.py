"""Training of the learned-autoencoder backend (fidelity and generative models) and its export."""
