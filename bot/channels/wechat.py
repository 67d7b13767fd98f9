"""WeChat Official Account (公众号) channel for Rasa.

credentials.yml::

    bot.channels.wechat.WeChatInput:
      token: ...               # or env WECHAT_TOKEN   (required)
      appid: ...               # or env WECHAT_APPID   (safe mode, message API)
      encoding_aes_key: ...    # or env WECHAT_AES_KEY (safe mode)
      secret: ...              # or env WECHAT_SECRET  (message API)
      kf_enabled: false        # customer-service message API for long / late answers
      kf_api_base: https://api.weixin.qq.com
      reply_budget_seconds: 4.5
      hold_retries: false      # without kf: let WeChat retry a slow answer instead of apologising at once
      timestamp_window_seconds: 300   # signatures older/newer than this are refused (0: off)
      allow_plain: false       # or env WECHAT_ALLOW_PLAIN: accept plain messages although an AES key is set
      redis_url: ...           # or env REDIS_URL: duplicate filter in Redis (several instances)
      dedup_database_url: ...  # or env DEDUP_DATABASE_URL (default sqlite var/channels.db)

Mounted at /webhooks/wechat/webhook (GET: URL check, POST: messages).
Environment variables win over the file; keep secrets in the environment.

Plain mode signs only token, timestamp and nonce — not the body. So the
channel refuses a timestamp outside the window and a (timestamp, nonce) that
comes back with another body (bot/channels/base.py), and, once an AES key is
configured (the account is in 兼容/安全模式, whose messages carry
``encrypt_type=aes`` and a signature over the ciphertext), refuses plain
messages altogether unless ``allow_plain`` says the switch is still under way.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Optional, Text

from sanic.request import Request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import create_reply
from wechatpy.utils import check_signature, to_text

from bot.channels.base import Opened, Reject, WeChatFamilyInput, as_bool, channel_settings, pick, refuse_dtd
from bot.channels.delivery import WECHAT_API_BASE, WeChatCustomerService

logger = logging.getLogger(__name__)


def parse_checked(xml: Any, parser: Callable[[Any], Any] = parse_message) -> Any:
    """Parse WeChat XML; Reject(400) unless it is a well-formed message with a sender."""
    refuse_dtd(xml)
    try:
        message = parser(xml)
        if message is None or not message.source:
            raise ValueError("no FromUserName")
        message.id, message.time  # noqa: B018 -- both must be integers
    except Reject:
        raise
    except Exception as e:
        raise Reject(400, f"malformed message XML ({type(e).__name__})")
    return message


class WeChatInput(WeChatFamilyInput):
    """Official Account messages, plain or safe (AES) mode."""

    config_hint = "set WECHAT_TOKEN or credentials.yml bot.channels.wechat.WeChatInput.token"

    @classmethod
    def name(cls) -> Text:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WeChatInput":
        c = credentials or {}
        appid = pick(c, "appid", "WECHAT_APPID")
        secret = pick(c, "secret", "WECHAT_SECRET")
        sender = None
        if as_bool(c.get("kf_enabled")):
            if appid and secret:
                sender = WeChatCustomerService(appid, secret, c.get("kf_api_base") or WECHAT_API_BASE)
            else:
                logger.error("wechat: kf_enabled but appid/secret missing (WECHAT_APPID, WECHAT_SECRET): "
                             "long and late answers cannot be sent")
        return cls(
            pick(c, "token", "WECHAT_TOKEN"),
            appid=appid,
            encoding_aes_key=pick(c, "encoding_aes_key", "WECHAT_AES_KEY"),
            allow_plain=as_bool(pick(c, "allow_plain", "WECHAT_ALLOW_PLAIN")),
            sender=sender,
            **channel_settings(c),
        )

    def __init__(self, token: Optional[str], *, appid: Optional[str] = None,
                 encoding_aes_key: Optional[str] = None, allow_plain: bool = False, **kwargs: Any) -> None:
        self.appid = appid
        #: an AES key is configured (usable or not): plain messages are refused unless allow_plain
        self.aes_configured = bool(encoding_aes_key)
        self.allow_plain = allow_plain
        self.crypto: Optional[WeChatCrypto] = None
        if encoding_aes_key:
            try:
                if not (token and appid):
                    raise ValueError("safe mode needs token and appid too")
                self.crypto = WeChatCrypto(token, encoding_aes_key, appid)
            except Exception as e:
                logger.error("wechat: encoding_aes_key unusable (%s): safe-mode requests will get 503", e)
        super().__init__(token, **kwargs)

    def dedup_scope(self) -> str:
        return f"wechat:{self.appid or '-'}"

    def verify_url(self, request: Request) -> str:
        a = request.args
        signature, timestamp, nonce, echostr = (a.get(k) for k in ("signature", "timestamp", "nonce", "echostr"))
        if not (signature and timestamp and nonce and echostr):
            raise Reject(403, "missing signature parameters")
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise Reject(403, "invalid signature")
        self.check_timestamp(timestamp)
        return echostr

    def open_message(self, request: Request) -> Opened:
        a = request.args
        timestamp, nonce = a.get("timestamp"), a.get("nonce")
        encrypt_type = (a.get("encrypt_type") or "raw").lower()
        if encrypt_type == "aes":
            msg_signature = a.get("msg_signature")
            if not (msg_signature and timestamp and nonce):
                raise Reject(403, "missing msg_signature parameters")
            if self.crypto is None:
                logger.error("wechat: safe-mode message but no usable encoding_aes_key (WECHAT_AES_KEY)")
                raise Reject(503, "safe mode not configured")
            refuse_dtd(request.body)
            try:
                xml = self.crypto.decrypt_message(to_text(request.body), msg_signature, timestamp, nonce)
            except InvalidSignatureException:
                raise Reject(403, "invalid msg_signature")
            except InvalidAppIdException:
                raise Reject(403, "message for another appid")
            except Exception as e:
                raise Reject(400, f"undecryptable payload ({type(e).__name__}; wrong encoding_aes_key?)")
            self.check_timestamp(timestamp)
            crypto = self.crypto
            return Opened(parse_checked(xml), lambda reply: crypto.encrypt_message(reply, nonce, timestamp),
                          timestamp, nonce, to_text(xml))
        if encrypt_type != "raw":
            raise Reject(400, "unknown encrypt_type")
        if self.aes_configured and not self.allow_plain:
            raise Reject(403, "plain message refused: an AES key is configured (set allow_plain during the switch)")
        signature = a.get("signature")
        if not (signature and timestamp and nonce):
            raise Reject(403, "missing signature parameters")
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise Reject(403, "invalid signature")
        self.check_timestamp(timestamp)
        try:
            xml = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise Reject(400, "body is not UTF-8")
        return Opened(parse_checked(xml), None, timestamp, nonce, xml)

    def render_reply(self, message: Any, text: str) -> str:
        return create_reply(text, message).render()
