"""alex's settings: one pydantic-settings class, read from the environment (and a ``.env`` file).

Secrets are ``SecretStr``: printing or logging a ``Settings`` never shows them.
"""

from __future__ import annotations

import re
from typing import Literal

import httpx2
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.analysis.due import parse_kinds, parse_weekly_at, parse_zone
from bot.pagerduty import DEFAULT_BASE_URL, PagerDutyClient

DEFAULT_MODEL = "gpt-5.4-mini"
"""A current, small tool-calling model (README: "Using an LLM" says why; any other is one variable away)."""


class Settings(BaseSettings):
    """Everything alex reads from its environment."""

    # hide_input_in_errors: a validation error must never print a secret's value.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      hide_input_in_errors=True)

    pagerduty_user_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("PAGERDUTY_USER_API_KEY"),
        description="A PagerDuty User API token (My Profile -> User Settings -> API Access).")
    pagerduty_api_url: str = Field(
        default=DEFAULT_BASE_URL, validation_alias=AliasChoices("PAGERDUTY_API_URL"),
        description="https://api.pagerduty.com, or https://api.eu.pagerduty.com for EU accounts.")
    pagerduty_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY"),
        description="OpenAI API key; unset (and no OPENAI_BASE_URL) means command mode, no LLM.")
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL"),
        description="Any OpenAI-compatible endpoint (Azure, Ollama, vLLM); unset means api.openai.com.")
    llm_model: str = Field(
        default=DEFAULT_MODEL, min_length=1, validation_alias=AliasChoices("ALEX_MODEL"),
        description="The model (or Azure deployment) name; see README \"Using an LLM\" for why the default.")
    llm_timeout_seconds: float = Field(
        default=30.0, gt=0, le=300, validation_alias=AliasChoices("ALEX_LLM_TIMEOUT_SECONDS"),
        description="Per model request (the openai client's own default of 600 s is far too long for chat).")
    llm_max_retries: int = Field(default=1, ge=0, le=5, validation_alias=AliasChoices("ALEX_LLM_MAX_RETRIES"))
    llm_temperature: float | None = Field(
        default=None, ge=0, le=2, validation_alias=AliasChoices("ALEX_TEMPERATURE"),
        description="Sent only when set: reasoning models accept only their default.")
    llm_reasoning_effort: Literal["none", "minimal", "low", "medium", "high"] | None = Field(
        default=None, validation_alias=AliasChoices("ALEX_REASONING_EFFORT"),
        description="Sent only when set (reasoning models; 'low' or 'none' answer faster).")
    llm_parallel_tool_calls: bool | None = Field(
        default=None, validation_alias=AliasChoices("ALEX_PARALLEL_TOOL_CALLS"),
        description="Sent only when set: some servers reject the parameter.")
    llm_strict_tools: bool = Field(
        default=True, validation_alias=AliasChoices("ALEX_STRICT_TOOLS"),
        description="Strict JSON-schema tools (turn off for vLLM, which ignores or mis-renders strict).")
    llm_stream: bool = Field(
        default=True, validation_alias=AliasChoices("ALEX_LLM_STREAM"),
        description="Stream the model's answer where a surface shows it as it comes (off: one response).")
    max_tool_steps: int = Field(
        default=6, ge=1, le=20, validation_alias=AliasChoices("ALEX_MAX_TOOL_STEPS"),
        description="Model calls per message; the last one gets no tools, forcing an answer.")
    message_deadline_seconds: float = Field(
        default=60.0, gt=0, le=600, validation_alias=AliasChoices("ALEX_MESSAGE_DEADLINE_SECONDS"),
        description="Wall-clock budget for answering one message (model calls and PagerDuty requests).")
    state_path: str = Field(
        default="alex-state.sqlite3", validation_alias=AliasChoices("ALEX_STATE_PATH"),
        description="SQLite file for alex's state (thread memory, proposals, dedupe, rate limits, audit log); "
                    "created on first run, survives restarts. ':memory:' keeps it in-process.")
    state_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ALEX_STATE_URL"),
        description="redis://[:password@]host:port/db: keep the state in Redis, shared by several replicas "
                    "(overrides ALEX_STATE_PATH). Secret: the URL may carry a password.")
    dedupe_ttl_seconds: float = Field(
        default=900.0, ge=60, le=86_400, validation_alias=AliasChoices("ALEX_DEDUPE_TTL_SECONDS"),
        description="How long a Slack event id is remembered (covers Slack's retries: ~1 and ~5 minutes).")
    rate_limit_per_user: int = Field(
        default=20, ge=0, le=10_000, validation_alias=AliasChoices("ALEX_RATE_LIMIT_PER_USER"),
        description="Messages one Slack user may send alex per window (0 = no limit).")
    rate_limit_per_channel: int = Field(
        default=60, ge=0, le=100_000, validation_alias=AliasChoices("ALEX_RATE_LIMIT_PER_CHANNEL"),
        description="Messages alex answers per channel (or DM) per window (0 = no limit).")
    rate_limit_window_seconds: float = Field(
        default=60.0, gt=0, le=86_400, validation_alias=AliasChoices("ALEX_RATE_LIMIT_WINDOW_SECONDS"),
        description="The rate-limit window.")
    audit_max_rows: int = Field(
        default=100_000, ge=100, le=10_000_000, validation_alias=AliasChoices("ALEX_AUDIT_MAX_ROWS"),
        description="Audit log entries kept (the oldest are deleted beyond this).")

    # -- Slack (``alex serve``) -------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"),
        description="The app's Bot User OAuth Token (xoxb-...), OAuth & Permissions page.")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET"),
        description="Basic Information -> Signing Secret; verifies HTTP requests (not needed in Socket Mode).")
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN"),
        description="An app-level token (xapp-..., scope connections:write): set it to use Socket Mode.")
    slack_api_url: str = Field(
        default="https://slack.com/api/", min_length=1, validation_alias=AliasChoices("SLACK_API_URL"),
        description="The Slack Web API base URL, ending in /api/ (GovSlack: https://slack-gov.com/api/; tests: "
                    "a fake); a URL without the /api/ suffix gets it.")
    port: int = Field(default=3000, ge=1, le=65535, validation_alias=AliasChoices("PORT"),
                      description="HTTP mode: the port for POST /slack/events and GET /healthz.")
    warroom_pattern: str = Field(
        default=r"^inc-(\d+)", min_length=1, validation_alias=AliasChoices("ALEX_WARROOM_PATTERN"),
        description="A regex on channel names; its first group is the incident number of a war room.")
    slack_stream: bool = Field(
        default=True, validation_alias=AliasChoices("ALEX_SLACK_STREAM"),
        description="Stream answers into Slack as they come (chat.startStream: steps, then the text); off, or "
                    "where Slack refuses a stream, each answer is one message posted when it is ready.")
    allow_unmapped_reads: bool = Field(
        default=False, validation_alias=AliasChoices("ALEX_ALLOW_UNMAPPED_READS"),
        description="Whether Slack users with no PagerDuty account (matched by e-mail) may read.")
    approver_group: str | None = Field(
        default=None, validation_alias=AliasChoices("ALEX_APPROVER_GROUP"),
        description="A Slack user group ID (S...) whose members may confirm anyone's proposals, as themselves.")
    allowed_channels: str = Field(
        default="", validation_alias=AliasChoices("ALEX_ALLOWED_CHANNELS"),
        description="Comma-separated Slack channel IDs alex answers in; empty means every channel (DMs always).")
    read_only: bool = Field(
        default=False, validation_alias=AliasChoices("ALEX_READ_ONLY"),
        description="No write tool is offered and no write runs (typed commands and buttons included).")
    proposal_ttl_seconds: float = Field(
        default=600.0, gt=0, le=86_400, validation_alias=AliasChoices("ALEX_PROPOSAL_TTL_SECONDS"),
        description="How long a proposal's Confirm button works.")
    token_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ALEX_TOKEN_KEY"),
        description="A Fernet key (or 'new,old' while rotating) encrypting the PagerDuty tokens people link "
                    "with /alex connect; unset: linking is off. Checked when alex starts "
                    "(bot.store.linked_tokens.token_cipher), not here: a validation error would print the value.")
    audit_buffer_path: str | None = Field(
        default=None, validation_alias=AliasChoices("ALEX_AUDIT_BUFFER_PATH"),
        description="A local JSON-lines file keeping audit entries the state store could not take after a "
                    "write ran (replayed into it once it is back); unset: alex-audit-buffer.jsonl next to "
                    "ALEX_STATE_PATH.")
    mcp_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ALEX_MCP_TOKEN"),
        description="The bearer token `alex mcp --http` requires of every request (at least 24 characters, "
                    "e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(32))'`); unset: no HTTP.")

    # -- Incident notifications: PagerDuty V3 webhooks -> live cards (``bot.notify``) ---------------
    pagerduty_webhook_secrets: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ALEX_PAGERDUTY_WEBHOOK_SECRETS"),
        description="The signing secret PagerDuty gave when the V3 webhook subscription was created; several, "
                    "comma-separated, while rotating (new,old). Unset: alex accepts no webhooks.")
    notify_routes: str = Field(
        default="", max_length=20_000, validation_alias=AliasChoices("ALEX_NOTIFY_ROUTES"),
        description="Which channel gets which incident's card: target=channel ID, comma-separated, by service "
                    "name or ID, team:<name or ID>, or * for the rest (payments-api=C0123,team:Platform=C0456,"
                    "*=C0789). Channels add their own from Slack (@alex notify this channel about …).")
    notify_min_urgency: Literal["low", "high"] = Field(
        default="low", validation_alias=AliasChoices("ALEX_NOTIFY_MIN_URGENCY"),
        description="high: ALEX_NOTIFY_ROUTES post cards of high-urgency incidents only. The routes and "
                    "priorities are read by ``alex serve`` at start (bot.notify.routes), which names a bad entry.")
    notify_priorities: str = Field(
        default="", max_length=500, validation_alias=AliasChoices("ALEX_NOTIFY_PRIORITIES"),
        description="Comma-separated priorities (P1,P2): ALEX_NOTIFY_ROUTES post cards of those only; empty: any.")
    webhook_port: int | None = Field(
        default=None, ge=1, le=65535, validation_alias=AliasChoices("ALEX_WEBHOOK_PORT"),
        description="Socket Mode: the port serving POST /pagerduty/webhooks (HTTP mode serves it on PORT).")
    notify_catch_up: bool = Field(
        default=True, validation_alias=AliasChoices("ALEX_NOTIFY_CATCH_UP"),
        description="At start, bring the cards of incidents that changed while alex was down up to date.")

    # -- Scheduled posts, run by ``alex serve`` (``bot.notify.scheduled``) --------------------------
    scheduled_posts: str = Field(
        default="", max_length=200, validation_alias=AliasChoices("ALEX_SCHEDULED_POSTS"),
        description="Which scheduled posts alex makes, comma-separated: weekly-oncall (who is on call this "
                    "week, per routed service/team), gap-warnings (coverage gaps of the coming 7 days), "
                    "shift-reminders (a DM before each shift starts). Empty (the default): none.")
    scheduled_at: str = Field(
        default="mon 09:00", max_length=40, validation_alias=AliasChoices("ALEX_SCHEDULED_AT"),
        description="Weekday and local time of the weekly posts, in each channel's zone.")
    scheduled_timezone: str = Field(
        default="UTC", max_length=64, validation_alias=AliasChoices("ALEX_SCHEDULED_TIMEZONE"),
        description="The IANA zone of channels that chose none (@alex post times in Europe/Berlin).")
    shift_reminder_minutes: int = Field(
        default=60, ge=5, le=1440, validation_alias=AliasChoices("ALEX_SHIFT_REMINDER_MINUTES"),
        description="How many minutes before a shift starts its person gets the reminder DM.")

    @property
    def allowed_channel_ids(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.allowed_channels.split(",") if part.strip())

    @property
    def webhook_secrets(self) -> list[str]:
        """``ALEX_PAGERDUTY_WEBHOOK_SECRETS`` split (blank entries dropped); never logged."""
        if self.pagerduty_webhook_secrets is None:
            return []
        return [part.strip() for part in self.pagerduty_webhook_secrets.get_secret_value().split(",") if part.strip()]

    @field_validator("notify_min_urgency", mode="before")
    @classmethod
    def _urgency_words(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("scheduled_posts")
    @classmethod
    def _known_posts(cls, value: str) -> str:
        parse_kinds(value)
        return value

    @field_validator("scheduled_at")
    @classmethod
    def _weekly_at(cls, value: str) -> str:
        return str(parse_weekly_at(value))

    @field_validator("scheduled_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return str(parse_zone(value))

    @field_validator("warroom_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @field_validator("approver_group")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return (value.strip() or None) if value is not None else None

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_base(cls, value: str) -> str:
        """The Web API base ends in ``/api/`` (the Slack SDK appends the method name to it): a host alone
        (``https://slack-gov.com``), ``…/api`` or ``…/api//`` are accepted and written that way."""
        return slack_api_base(value)


def slack_api_base(value: str) -> str:
    """``SLACK_API_URL`` as the SDK needs it: ``scheme://host[:port][/path]/api/``."""
    url = value.strip()
    scheme, sep, rest = url.partition("://")
    host, _, path = rest.partition("/")
    if not sep or scheme.lower() not in ("http", "https") or not host or any(c in url for c in "?# "):
        raise ValueError("must be the Slack Web API base URL, e.g. https://slack.com/api/ "
                         "(GovSlack: https://slack-gov.com/api/)")
    parts = [part for part in path.split("/") if part]
    if not parts or parts[-1] != "api":
        parts.append("api")
    return f"{scheme.lower()}://{host}/{'/'.join(parts)}/"


class InvalidSettings(ValueError):
    """The environment holds a setting alex cannot use: the message names each one and why (never a value)."""


def read_settings() -> Settings:
    """``Settings()``, its validation errors as one :class:`InvalidSettings` line for a command to print."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidSettings(f"invalid settings: {problems}") from None


class MissingSettingError(RuntimeError):
    """A required setting is absent; the message names the variable, never a value."""


def pagerduty_client(settings: Settings, transport: httpx2.AsyncBaseTransport | None = None, *,
                     token: str | SecretStr | None = None, scoped_user: str | None = None) -> PagerDutyClient:
    """The PagerDuty client for these settings (``transport`` lets tests and the sandbox plug in).

    ``token`` replaces ``PAGERDUTY_USER_API_KEY`` (a person's linked token); ``scoped_user`` makes it a
    :class:`~bot.pagerduty.scope.ScopedClient` limited to that PagerDuty user's teams.
    """
    if token is not None:
        timeout = httpx2.Timeout(settings.pagerduty_timeout_seconds, connect=3.0)
        if scoped_user is not None:
            from bot.pagerduty.scope import ScopedClient

            return ScopedClient(token, user_id=scoped_user, base_url=settings.pagerduty_api_url,
                                transport=transport, timeout=timeout)
        return PagerDutyClient(token, base_url=settings.pagerduty_api_url, transport=transport, timeout=timeout)
    if settings.pagerduty_user_api_key is None:
        raise MissingSettingError(
            "PAGERDUTY_USER_API_KEY is not set: create a User API token in PagerDuty "
            "(My Profile -> User Settings -> API Access) and export it, or run `make demo` for the sandbox.")
    timeout = httpx2.Timeout(settings.pagerduty_timeout_seconds, connect=3.0)
    return PagerDutyClient(settings.pagerduty_user_api_key, base_url=settings.pagerduty_api_url,
                           transport=transport, timeout=timeout)
