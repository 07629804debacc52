"""The curated knowledge base as reviewable JSON files, one per entity, and their loader."""
