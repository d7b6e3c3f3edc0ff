"""Money: the ledger, cards, payments, auto-charge, returns, closing (GraphQL)."""
