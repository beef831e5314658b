"""Test support: a local Telegram Bot API server with simulated users (see ``botapi``)."""
