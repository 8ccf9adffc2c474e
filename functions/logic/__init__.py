"""Business rules: called by the API routes and the aggregator, calling the store."""
