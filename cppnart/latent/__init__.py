"""Latents as data: sampling and files, paths through latent space, arithmetic."""
