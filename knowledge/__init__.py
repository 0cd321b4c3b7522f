"""Knowledge base on pgvector: ingestion (unstructured), embeddings, hybrid retrieval, versions."""
