"""Training: config, recipes, the trainer loop, run folders, checkpoints, the worker process."""
