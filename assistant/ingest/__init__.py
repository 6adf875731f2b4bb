"""Articles in, prepared batches out: load, clean, chunk with exact offsets, embed (no state; only the index writes)."""
