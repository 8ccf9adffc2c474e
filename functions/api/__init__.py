"""The HTTP layer: thin Chalice routes that parse, call one logic function and map the result."""
