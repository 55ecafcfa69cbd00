"""The Slack app: Bolt listeners (:mod:`bot.slack.app`), identity, war rooms, proposals and buttons;
rendering lives in :mod:`bot.slack.render`. ``alex serve`` (:mod:`bot.slack.serve`) runs it."""
