"""Lambda entries for webhooks: the stream consumer that queues events, and the delivery function."""
