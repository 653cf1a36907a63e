"""The ``ppo`` conditional learner: PPO over a language model with a terrain embedding network."""
