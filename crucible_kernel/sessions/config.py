"""Options of `create` and agent configurations, normalised; the service's error type.

Agent configurations come in two shapes: the contract's `{model, system_prompt}` and the
reference's `SessionAgent` (`agent_type`, `provider`, `model`, `system_prompt`, and optional
fields). Both are accepted: what is missing comes from the service's default agent.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AGENT_EXTRAS",
    "AGENT_FIELDS",
    "PROVIDERS",
    "RECORDING_MODES",
    "SessionError",
    "agent_config",
    "create_options",
]


class SessionError(Exception):
    """A failure the caller sees as `(nil, message)`: the message is the reference's where it has one."""


# Provider names accepted in an agent config, and the agent that serves them.
PROVIDERS = {
    "echo": "echo",
    "openai": "openai",
    "openai_compatible": "openai",
    "openai-compatible": "openai",
    "ollama": "openai",
    "llamacpp": "openai",
    "llama.cpp": "openai",
    "vllm": "openai",
}
DEFAULT_ENDPOINTS = {
    "openai": "https://api.openai.com/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "llamacpp": "http://127.0.0.1:8080/v1",
    "llama.cpp": "http://127.0.0.1:8080/v1",
    "vllm": "http://127.0.0.1:8000/v1",
}
# Fields of `create` that configure the agent (reference: they imply configure_agent = true).
AGENT_FIELDS = ("agent_card", "agent_name", "provider", "provider_key", "model", "endpoint", "tool_policy")
# Ours, also taken from create's options into the agent config (and implying it as well).
AGENT_EXTRAS = (
    "agent_type",
    "system_prompt",
    "api_key_env",
    "temperature",
    "max_tokens",
    "timeout",
    "delay",
    "replies",
    "completions",
)
RECORDING_MODES = ("off", "record", "replay", "auto")
SESSION_TYPES = ("chat", "agent", "workflow")


def agent_config(raw: Any, default: dict[str, Any]) -> dict[str, Any]:
    """A complete agent config from `raw` (a decoded table), missing fields from `default`.

    Raises SessionError("Invalid agent config: ...") for what cannot be used.
    """
    if not isinstance(raw, dict):
        kind = "list" if isinstance(raw, list) else type(raw).__name__
        raise SessionError(f"Invalid agent config: expected a table of agent settings, got {kind}")
    if "api_key" in raw:
        raise SessionError(
            "Invalid agent config: never put an API key in a notebook; store it in an environment "
            "variable and name that variable with api_key_env"
        )
    config = dict(default)
    if raw.get("provider") is not None and raw.get("provider") != default.get("provider"):
        # another provider: the default's provider-specific settings do not carry over
        config = {k: v for k, v in default.items() if k in ("agent_type", "system_prompt")}
    config.update({k: v for k, v in raw.items() if v is not None})
    config.setdefault("agent_type", "internal")
    config.setdefault("system_prompt", "")
    provider = config.get("provider", "echo")
    if not isinstance(provider, str) or provider.lower() not in PROVIDERS:
        known = ", ".join(sorted(set(PROVIDERS) - {"openai-compatible", "llama.cpp"}))
        raise SessionError(f"Invalid agent config: unknown provider {provider!r} (known: {known})")
    config["provider"] = provider = provider.lower()
    if PROVIDERS[provider] == "echo":
        config.setdefault("model", "echo")
    else:
        config.setdefault("endpoint", DEFAULT_ENDPOINTS.get(provider))
        if not config.get("endpoint"):
            raise SessionError(f"Invalid agent config: provider {provider!r} needs an endpoint URL")
        if not config.get("model"):
            raise SessionError("Invalid agent config: missing field `model`")
    for text_field in ("model", "system_prompt", "agent_type"):
        if not isinstance(config.get(text_field), str):
            raise SessionError(f"Invalid agent config: `{text_field}` must be a string")
    return config


def create_options(raw: Any) -> dict[str, Any]:
    """The options of `create` (a decoded table, or the legacy type string), checked."""
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict):
        raise SessionError('create() expects a table argument, e.g. { type = "chat" }')
    opts = dict(raw)
    kind = opts.get("type", "chat")
    if kind not in SESSION_TYPES:
        raise SessionError(
            f"Invalid create options: unknown variant `{kind}`, expected one of `chat`, `agent`, `workflow`"
        )
    opts["type"] = kind
    kilns = opts.get("kilns")
    if kilns == {}:
        opts["kilns"] = []  # an empty Lua table encodes as {}
    elif kilns is not None and not (isinstance(kilns, list) and all(isinstance(k, str) for k in kilns)):
        raise SessionError("Invalid create options: `kilns` must be a list of strings")
    mode = opts.get("recording_mode")
    if mode is not None and mode not in RECORDING_MODES:
        raise SessionError(
            f"Invalid create options: recording_mode must be one of {', '.join(RECORDING_MODES)}, "
            f"got {mode!r}"
        )
    if (
        any(opts.get(f) is not None for f in (*AGENT_FIELDS, *AGENT_EXTRAS, "agent"))
        and "configure_agent" not in opts
    ):
        opts["configure_agent"] = True
    return opts
