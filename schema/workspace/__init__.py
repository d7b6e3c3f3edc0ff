"""GraphQL of the sales workspace (seed 003)."""
