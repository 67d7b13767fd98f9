"""WeCom (企业微信) application callback channel for Rasa.

credentials.yml::

    bot.channels.wecom.WeComInput:
      token: ...               # or env WECOM_TOKEN      (required)
      corp_id: ...             # or env WECOM_CORP_ID    (required)
      encoding_aes_key: ...    # or env WECOM_AES_KEY    (required: WeCom always encrypts)
      agent_id: ...            # or env WECOM_AGENT_ID   (message API)
      secret: ...              # or env WECOM_SECRET     (message API: the app's secret)
      message_api_enabled: true
      api_base: https://qyapi.weixin.qq.com
      reply_budget_seconds: 4.5
      hold_retries: false
      timestamp_window_seconds: 300   # signatures older/newer than this are refused (0: off)
      redis_url: ...           # or env REDIS_URL (duplicate filter; default sqlite var/channels.db)

Mounted at /webhooks/wecom/webhook. Same handling as the WeChat channel
(bot.channels.base); the user's WeCom userid is the Rasa sender id.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Text, Tuple

from sanic.request import Request
from wechatpy.enterprise import create_reply, parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import to_text

from bot.channels.base import Opened, Reject, WeChatFamilyInput, as_bool, channel_settings, pick, refuse_dtd
from bot.channels.delivery import WECOM_API_BASE, WeComAppMessenger
from bot.channels.wechat import parse_checked

logger = logging.getLogger(__name__)


class WeComInput(WeChatFamilyInput):
    """WeCom self-built application: encrypted callbacks only."""

    empty_reply = ""
    config_hint = "set WECOM_TOKEN, WECOM_CORP_ID and WECOM_AES_KEY (or credentials.yml)"

    @classmethod
    def name(cls) -> Text:
        return "wecom"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WeComInput":
        c = credentials or {}
        corp_id = pick(c, "corp_id", "WECOM_CORP_ID")
        agent_id = pick(c, "agent_id", "WECOM_AGENT_ID")
        secret = pick(c, "secret", "WECOM_SECRET")
        sender = None
        if as_bool(c.get("message_api_enabled"), default=True):
            if corp_id and agent_id and secret:
                try:
                    sender = WeComAppMessenger(corp_id, secret, agent_id, c.get("api_base") or WECOM_API_BASE)
                except ValueError:
                    logger.error("wecom: agent_id must be a number: long and late answers cannot be sent")
            else:
                logger.warning("wecom: corp_id/agent_id/secret incomplete (WECOM_AGENT_ID, WECOM_SECRET): "
                               "long and late answers cannot be sent")
        return cls(
            pick(c, "token", "WECOM_TOKEN"),
            corp_id=corp_id,
            encoding_aes_key=pick(c, "encoding_aes_key", "WECOM_AES_KEY"),
            sender=sender,
            **channel_settings(c),
        )

    def __init__(self, token: Optional[str], *, corp_id: Optional[str] = None,
                 encoding_aes_key: Optional[str] = None, **kwargs: Any) -> None:
        self.corp_id = corp_id
        self.crypto: Optional[WeChatCrypto] = None
        self._crypto_problem: Optional[str] = None
        if token and corp_id and encoding_aes_key:
            try:
                self.crypto = WeChatCrypto(token, encoding_aes_key, corp_id)
            except Exception as e:
                self._crypto_problem = f"encoding_aes_key unusable ({type(e).__name__})"
        super().__init__(token, **kwargs)

    def configuration_problem(self) -> Optional[str]:
        if self.crypto is not None:
            return None
        return self._crypto_problem or f"token, corp_id or encoding_aes_key missing ({self.config_hint})"

    def dedup_scope(self) -> str:
        return f"wecom:{self.corp_id}"

    def _params(self, request: Request) -> Tuple[str, str, str]:
        a = request.args
        sig, timestamp, nonce = a.get("msg_signature"), a.get("timestamp"), a.get("nonce")
        if not (sig and timestamp and nonce):
            raise Reject(403, "missing msg_signature parameters")
        return sig, timestamp, nonce

    def verify_url(self, request: Request) -> str:
        sig, timestamp, nonce = self._params(request)
        echostr = request.args.get("echostr")
        if not echostr:
            raise Reject(403, "missing echostr")
        assert self.crypto is not None
        try:
            echo = self.crypto.check_signature(sig, timestamp, nonce, echostr)
        except InvalidSignatureException:
            raise Reject(403, "invalid msg_signature")
        except InvalidCorpIdException:
            raise Reject(403, "echostr for another corp_id")
        except Exception as e:
            raise Reject(400, f"undecryptable echostr ({type(e).__name__})")
        self.check_timestamp(timestamp)
        return to_text(echo)

    def open_message(self, request: Request) -> Opened:
        sig, timestamp, nonce = self._params(request)
        assert self.crypto is not None
        refuse_dtd(request.body)
        try:
            xml = self.crypto.decrypt_message(to_text(request.body), sig, timestamp, nonce)
        except InvalidSignatureException:
            raise Reject(403, "invalid msg_signature")
        except InvalidCorpIdException:
            raise Reject(403, "message for another corp_id")
        except Exception as e:
            raise Reject(400, f"undecryptable payload ({type(e).__name__}; wrong encoding_aes_key?)")
        self.check_timestamp(timestamp)
        crypto = self.crypto
        return Opened(parse_checked(xml, parse_message), lambda reply: crypto.encrypt_message(reply, nonce, timestamp),
                      timestamp, nonce, to_text(xml))

    def render_reply(self, message: Any, text: str) -> str:
        return create_reply(text, message).render()
