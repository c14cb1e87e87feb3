"""The fictional demo region Lindewaard: its model, the websites generated from it, a local
server for them, and the ground truth that measures the pipeline against them."""
