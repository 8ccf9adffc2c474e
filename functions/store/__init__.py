"""The store: the only package that touches boto3 (docs/architecture.md, "Store boundary").

Every request goes through `clients.call` (DynamoDB's through `dynamo.request`), which is the
one place botocore's `ClientError` is translated: throttling → `Busy` (a domain `Throttled`),
a failed condition → `ConditionFailed`, a cancelled transaction → `TransactionCancelled`,
anything else → `Refused`. Each module owns one table's items and says what a refusal of its
own request means (Conflict, NotFound, a result), so nothing above the store sees botocore.
"""
