"""The DynamoDB store: the only package that touches boto3.

Each module owns one table's items and turns `ClientError` into domain errors
(`ConditionalCheckFailedException` → Conflict/NotFound, throttling → Throttled) at the edge.
"""
