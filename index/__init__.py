"""Build and write a claims index: sources -> articles -> passages -> catalog + Whoosh + FAISS."""
