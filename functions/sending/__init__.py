"""The sending functions' entry points: the scheduler's tick and the SQS-triggered sender."""
