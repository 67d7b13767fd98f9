"""Rasa input channels for WeChat (公众号) and WeCom (企业微信).

Register in credentials.yml by module path:
``bot.channels.wechat.WeChatInput`` and ``bot.channels.wecom.WeComInput``.
Shared handling lives in :mod:`bot.channels.base`; retry deduplication in
:mod:`bot.channels.dedup`; the message APIs for long and late answers in
:mod:`bot.channels.delivery`.
"""
