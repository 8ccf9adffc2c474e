"""What stands Hark up: table definitions (tables.json, also merged into the deployed
template) and the local stack (infra/local)."""
