"""dshgan: Deep Semantic Hashing with Generative Adversarial Networks (Qiu et al., SIGIR 2017)."""

__version__ = "0.1.0"
