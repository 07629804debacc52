"""SkinKB: a cited knowledge base about scalp microneedling for hair loss."""
