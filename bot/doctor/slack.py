"""Slack checks: the bot token works (``auth.test``), its granted scopes cover ``manifest.yml``, and a
way to receive events is configured (Socket Mode or HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.doctor.report import MANIFEST_PATH, Check, redact

SCOPES_HEADER = "x-oauth-scopes"

_REVOKED = {"token_revoked", "token_expired", "account_inactive", "team_disabled", "app_uninstalled"}
_BAD_TOKEN = {"invalid_auth", "not_authed", "not_allowed_token_type"}
_INSTALL = "Slack app settings → OAuth & Permissions"


def slack_secrets(settings: Settings) -> list[str | None]:
    """The Slack secret values, to redact from anything doctor prints."""
    return [_value(settings.slack_bot_token), _value(settings.slack_app_token), _value(settings.slack_signing_secret)]


@dataclass(frozen=True, slots=True)
class Manifest:
    """What doctor needs from ``manifest.yml``; ``problem`` says why it could not be read."""

    bot_scopes: list[str] = field(default_factory=list)
    socket_mode: bool | None = None
    problem: str | None = None


def _value(secret: SecretStr | None) -> str | None:
    """The secret's value; blank counts as unset."""
    text = secret.get_secret_value().strip() if secret is not None else ""
    return text or None


def load_manifest(path: Path) -> Manifest:
    if not path.is_file():
        return Manifest(problem=f"{path.name} not found at {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return Manifest(problem=f"{path.name} could not be read: {type(exc).__name__}")
    scopes = _dig(data, "oauth_config", "scopes", "bot")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes) or not scopes:
        return Manifest(problem=f"{path.name} lists no oauth_config.scopes.bot")
    socket_mode = _dig(data, "settings", "socket_mode_enabled")
    return Manifest(bot_scopes=scopes, socket_mode=socket_mode if isinstance(socket_mode, bool) else None)


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


async def check_slack(settings: Settings, *, manifest_path: Path = MANIFEST_PATH,
                      timeout_s: float = 10.0) -> list[Check]:
    manifest = load_manifest(manifest_path)
    checks = await _check_bot_token(settings, manifest, timeout_s)
    checks.extend(_check_mode(settings, manifest))
    return checks


async def _check_bot_token(settings: Settings, manifest: Manifest, timeout_s: float) -> list[Check]:
    token = _value(settings.slack_bot_token)
    if token is None:
        return [Check("Slack", "bot_token", "fail", "SLACK_BOT_TOKEN is not set",
                      f"create the app from manifest.yml, install it, and export its Bot User OAuth Token "
                      f"(xoxb-…) from {_INSTALL}")]
    checks: list[Check] = []
    if not token.startswith("xoxb-"):
        kind = "a user token (xoxp-)" if token.startswith("xoxp-") else "not a bot token (xoxb-)"
        checks.append(Check("Slack", "bot_token", "fail", f"SLACK_BOT_TOKEN is {kind}",
                            f"use the Bot User OAuth Token (xoxb-…) from {_INSTALL}"))
    base_url = settings.slack_api_url.strip()
    client = AsyncWebClient(token=token, base_url=base_url, timeout=max(1, round(timeout_s)))
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        checks.append(_auth_error(str(exc.response.get("error") or "unknown_error")))
        return checks
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        reason = redact(str(exc), slack_secrets(settings)) or type(exc).__name__
        checks.append(Check("Slack", "auth", "fail", f"cannot reach Slack at {base_url}: {reason}",
                            "check the network / proxy, and SLACK_API_URL if you set it"))
        return checks
    who = f"@{response.get('user')} ({response.get('user_id')}) in {response.get('team')} ({response.get('team_id')})"
    checks.append(Check("Slack", "auth", "ok", f"auth.test: connected as {who}"))
    checks.append(_check_scopes(response.headers.get(SCOPES_HEADER), manifest))
    return checks


def _auth_error(error: str) -> Check:
    if error in _REVOKED:
        return Check("Slack", "auth", "fail", f"Slack refused SLACK_BOT_TOKEN: {error} (the app was uninstalled or "
                     "the token revoked)", f"reinstall the app to the workspace and export the new xoxb- token "
                     f"from {_INSTALL}")
    if error in _BAD_TOKEN:
        return Check("Slack", "auth", "fail", f"Slack refused SLACK_BOT_TOKEN: {error}",
                     f"copy the Bot User OAuth Token (xoxb-…) again from {_INSTALL}; with SLACK_API_URL set, "
                     "check it points at the right Slack (e.g. GovSlack)")
    return Check("Slack", "auth", "fail", f"auth.test failed: {error}", "see https://api.slack.com/methods/auth.test")


def _check_scopes(header: str | None, manifest: Manifest) -> Check:
    if manifest.problem:
        return Check("Slack", "scopes", "warn", f"cannot compare granted scopes: {manifest.problem}",
                     "add manifest.yml at the repository root (it lists the bot scopes alex needs), or pass --manifest")
    if header is None:
        return Check("Slack", "scopes", "warn", "Slack did not report the granted scopes (no x-oauth-scopes header)",
                     f"compare {_INSTALL} → Bot Token Scopes with manifest.yml by hand")
    granted = {scope.strip() for scope in header.split(",") if scope.strip()}
    missing = [scope for scope in manifest.bot_scopes if scope not in granted]
    if missing:
        return Check("Slack", "scopes", "fail", f"missing bot scopes: {', '.join(missing)}",
                     f"add them under {_INSTALL} → Bot Token Scopes (as in manifest.yml), then reinstall the app "
                     "so the token gets them")
    extra = sorted(granted.difference(manifest.bot_scopes))
    more = f" (also granted, not in manifest.yml: {', '.join(extra)})" if extra else ""
    return Check("Slack", "scopes", "ok", f"all {len(manifest.bot_scopes)} bot scopes of manifest.yml granted{more}")


def _check_mode(settings: Settings, manifest: Manifest) -> list[Check]:
    app_token = _value(settings.slack_app_token)
    if app_token is not None:
        if not app_token.startswith("xapp-"):
            return [Check("Slack", "mode", "fail", "SLACK_APP_TOKEN is set but is not an app-level token (xapp-)",
                          "Slack app settings → Basic Information → App-Level Tokens: generate one with "
                          "connections:write, or unset SLACK_APP_TOKEN to serve HTTP")]
        checks = [Check("Slack", "mode", "ok", "Socket Mode: SLACK_APP_TOKEN is an app-level token (xapp-)")]
        if manifest.socket_mode is False:
            checks.append(Check("Slack", "mode", "warn", "manifest.yml turns Socket Mode off, so the socket will "
                                "not connect", "turn Socket Mode on (settings.socket_mode_enabled: true), or unset "
                                "SLACK_APP_TOKEN and serve HTTP with SLACK_SIGNING_SECRET"))
        return checks
    if _value(settings.slack_signing_secret) is not None:
        checks = [Check("Slack", "mode", "ok", "HTTP mode: SLACK_SIGNING_SECRET set (Slack must reach "
                        "/slack/events on PORT)")]
        if manifest.socket_mode:
            checks.append(Check("Slack", "mode", "warn", "manifest.yml enables Socket Mode, so Slack will not send "
                                "events to a request URL", "set SLACK_APP_TOKEN (xapp-…), or turn Socket Mode off "
                                "and set the request URLs to https://<host>/slack/events"))
        return checks
    return [Check("Slack", "mode", "fail", "neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET "
                  "(HTTP mode) is set", "Socket Mode: Basic Information → App-Level Tokens → generate one with "
                  "connections:write and export SLACK_APP_TOKEN; HTTP: export SLACK_SIGNING_SECRET "
                  "(Basic Information → App Credentials)")]
