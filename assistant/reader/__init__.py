"""The reader: a small cross-encoder that says which sentence answers a question and quotes the short answer."""
