"""The local stack: emulator, stream poller and `make dev`."""
