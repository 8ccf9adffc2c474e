"""The stream aggregator: DynamoDB stream batches in, current scores out (SPEC §6)."""
