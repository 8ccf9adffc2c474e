"""The stream aggregator: DynamoDB stream batches in, current scores out (docs/architecture.md, Pipeline)."""
