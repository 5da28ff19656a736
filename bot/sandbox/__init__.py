"""``rejectbot demo --web``: the whole workflow in a local web page.

A view onto the demo's world (`bot.demo`): the real app, the fake Slack the
tests use, and a clock that moves when asked. `bot.sandbox.state` drives it,
`bot.sandbox.blocks` draws Block Kit, `bot.sandbox.web` serves the page.
"""
