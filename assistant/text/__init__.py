"""Text as the index and the answer step read it: words and stems, stopwords, names, sentences, query terms, and
the MinHash fingerprint that finds syndicated copies."""
