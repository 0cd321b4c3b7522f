"""Knowledge base on pgvector: ingestion, embeddings, hybrid retrieval. Not built yet: issue 7."""
