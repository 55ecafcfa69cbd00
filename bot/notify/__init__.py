"""Incident notifications: PagerDuty V3 webhooks in, live incident cards out; and the scheduled posts.

This package is the PagerDuty side, and knows no Slack: the receiver (:mod:`bot.notify.receiver`:
``POST /pagerduty/webhooks``, signatures :mod:`bot.notify.signature`, events :mod:`bot.notify.events`), the
routing of incidents to channels (:mod:`bot.notify.routes`: ``ALEX_NOTIFY_ROUTES`` and the routes set from
Slack) and the catch-up at start (:mod:`bot.notify.catchup`). The cards are Slack's:
:mod:`bot.slack.notify_cards` draws them and :mod:`bot.slack.notify_commands` answers "@alex notify this
channel about …"; :mod:`bot.slack.serve` wires the two together. The state both share (cards, routes, the
watermark) is :mod:`bot.store.notify`.
"""
