"""The Jupyter side: an ipykernel Kernel subclass over the cru.* runtime, and its editing help."""
