"""Delivering deal alerts: the Telegram bot, Apprise channels, and the cards they show."""
