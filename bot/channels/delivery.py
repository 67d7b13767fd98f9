"""Send text outside the 5-second passive reply: WeChat's customer-service
message API and WeCom's application message API, over aiohttp on the
running (Sanic) loop.

Access tokens are fetched on first use and cached until shortly before they
expire; an "invalid/expired token" answer refreshes the token once. Secrets and
tokens never appear in log lines.
"""
from __future__ import annotations

import abc
import asyncio
import json
import logging
import time
from typing import Any, Dict, Optional

import aiohttp

logger = logging.getLogger(__name__)

WECHAT_API_BASE = "https://api.weixin.qq.com"
WECOM_API_BASE = "https://qyapi.weixin.qq.com"

#: errcodes meaning "this access token is invalid / expired": refresh and retry once.
TOKEN_ERRCODES = {40001, 40014, 42001}
#: what common failures mean, so the log line says what to do.
ERRCODE_HINTS = {
    40125: "the secret is wrong",
    40164: "this server's IP is not in the account's IP whitelist",
    41001: "no access token",
    43004: "the user has not followed the account",
    45015: "the user has not written within 48 hours; customer-service messages are not allowed",
    45047: "customer-service message quota for this user is used up",
    48001: "the account is not authorised for this API (unverified accounts have no customer-service API)",
    60020: "this server's IP is not in the WeCom app's trusted IP list",
    81013: "the user is not in the app's visible range",
}


class DeliveryError(Exception):
    pass


class MessageSender(abc.ABC):
    """Sends one text message to one user; True on success. Never raises."""

    def __init__(self, api_base: str, timeout: float = 10.0) -> None:
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self._session: Optional[aiohttp.ClientSession] = None
        self._token: Optional[str] = None
        self._token_expires = 0.0
        self._token_lock: Optional[asyncio.Lock] = None

    # --- what differs between WeChat and WeCom
    @abc.abstractmethod
    async def _fetch_token(self) -> Dict[str, Any]:
        """Call the token endpoint; return its JSON."""

    @abc.abstractmethod
    def _send_url(self) -> str:
        ...

    @abc.abstractmethod
    def _payload(self, user: str, content: str) -> Dict[str, Any]:
        ...

    # --- shared
    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def access_token(self, force: bool = False) -> str:
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            if not force and self._token and time.monotonic() < self._token_expires:
                return self._token
            data = await self._fetch_token()
            token = data.get("access_token")
            if not token:
                code = data.get("errcode")
                raise DeliveryError(
                    f"token request refused: errcode={code} errmsg={data.get('errmsg')!r}"
                    + (f" ({ERRCODE_HINTS[code]})" if code in ERRCODE_HINTS else "")
                )
            expires_in = int(data.get("expires_in") or 7200)
            self._token = token
            self._token_expires = time.monotonic() + max(expires_in - 300, 60)
            return token

    async def _get_json(self, url: str, params: Dict[str, str]) -> Dict[str, Any]:
        async with self._http().get(url, params=params) as resp:
            return await resp.json(content_type=None)

    async def send_text(self, user: str, content: str) -> bool:
        body = json.dumps(self._payload(user, content), ensure_ascii=False).encode("utf-8")
        try:
            for attempt in (1, 2):
                token = await self.access_token(force=attempt == 2)
                async with self._http().post(
                    self._send_url(),
                    params={"access_token": token},
                    data=body,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                ) as resp:
                    data = await resp.json(content_type=None)
                code = data.get("errcode", 0)
                if code == 0:
                    return True
                if code in TOKEN_ERRCODES and attempt == 1:
                    continue
                logger.error(
                    "%s: message to %s refused: errcode=%s errmsg=%r%s",
                    type(self).__name__, user, code, data.get("errmsg"),
                    f" ({ERRCODE_HINTS[code]})" if code in ERRCODE_HINTS else "",
                )
                return False
        except DeliveryError as e:
            logger.error("%s: %s", type(self).__name__, e)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
            logger.error("%s: message to %s failed: %s: %s", type(self).__name__, user, type(e).__name__, e)
        return False


class WeChatCustomerService(MessageSender):
    """Official Account customer-service API (客服消息)."""

    def __init__(self, appid: str, secret: str, api_base: str = WECHAT_API_BASE, timeout: float = 10.0) -> None:
        super().__init__(api_base, timeout)
        self.appid = appid
        self.secret = secret

    async def _fetch_token(self) -> Dict[str, Any]:
        return await self._get_json(
            f"{self.api_base}/cgi-bin/token",
            {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )

    def _send_url(self) -> str:
        return f"{self.api_base}/cgi-bin/message/custom/send"

    def _payload(self, user: str, content: str) -> Dict[str, Any]:
        return {"touser": user, "msgtype": "text", "text": {"content": content}}


class WeComAppMessenger(MessageSender):
    """WeCom application message API (应用消息)."""

    def __init__(self, corp_id: str, secret: str, agent_id: str, api_base: str = WECOM_API_BASE,
                 timeout: float = 10.0) -> None:
        super().__init__(api_base, timeout)
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = int(agent_id)

    async def _fetch_token(self) -> Dict[str, Any]:
        return await self._get_json(
            f"{self.api_base}/cgi-bin/gettoken", {"corpid": self.corp_id, "corpsecret": self.secret}
        )

    def _send_url(self) -> str:
        return f"{self.api_base}/cgi-bin/message/send"

    def _payload(self, user: str, content: str) -> Dict[str, Any]:
        return {"touser": user, "msgtype": "text", "agentid": self.agent_id, "text": {"content": content}}
