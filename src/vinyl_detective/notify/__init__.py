"""Delivering deal alerts: the Telegram bot, Apprise channels, and the cards they show.

`dispatch.py` sends each alert exactly once per recipient (claim, send, record);
`telegram.py` sends cards (with buttons) and texts, `telegram_bot.py` is the bot (commands
answered by a `BotBackend`, the buttons);
`apprise_channel.py` and `channels.py` cover Discord, e-mail, Slack and the rest;
`cards.py` renders a deal for each of them; `digest.py` collects digest alerts;
`recipients.py` says who hears about a deal and retries what was not delivered.

May import: storage, sources, domain and the base modules. Imported by: service, jobs,
the bot's commands, the daemon and the CLI.
"""
