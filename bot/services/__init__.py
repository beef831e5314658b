"""Business logic with state or several steps, free of aiogram (see docs/architecture.md)."""
