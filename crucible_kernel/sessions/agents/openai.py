"""The "openai" agent: any OpenAI-compatible chat-completions endpoint, streamed.

llama.cpp's server, Ollama, vLLM and OpenAI all speak it. The config (provider "openai",
"ollama", "llamacpp" or "vllm"):

    endpoint      the API's base URL, e.g. http://127.0.0.1:8080/v1 (chat/completions is added)
    model         the model name the endpoint expects
    api_key_env   the name of the environment variable holding the API key (never the key)
    temperature, max_tokens   passed on when given
    timeout       seconds without any data before the turn fails (default 60)

The reply streams as server-sent events (parsed by httpx-sse): content deltas become text_delta
events, reasoning deltas (llama.cpp, vLLM, DeepSeek) thinking events, and the usage the endpoint
reports goes into message_complete. httpx is imported when the first such session is made.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
from httpx_sse import SSEError, aconnect_sse

from . import AgentError, Turn

__all__ = ["OpenAIAgent"]

DEFAULT_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0


def _float(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and value > 0 else default


class OpenAIAgent:
    def __init__(self, config: dict[str, Any]) -> None:
        self.url = str(config["endpoint"]).rstrip("/") + "/chat/completions"
        self.model = str(config["model"])
        self.key_env = config.get("api_key_env")
        self.system_prompt = str(config.get("system_prompt") or "")
        self.timeout = _float(config.get("timeout"), DEFAULT_TIMEOUT)
        self.options = {k: config[k] for k in ("temperature", "max_tokens") if config.get(k) is not None}

    def _headers(self) -> dict[str, str]:
        if not self.key_env:
            return {}
        key = os.environ.get(str(self.key_env))
        if not key:
            raise AgentError(f"the environment variable {self.key_env} (named by api_key_env) is not set")
        return {"Authorization": f"Bearer {key}"}

    def _messages(
        self, history: list[dict[str, str]], message: str, system: str | None
    ) -> list[dict[str, str]]:
        out = []
        if system:
            out.append({"role": "system", "content": system})
        out.extend(history)
        out.append({"role": "user", "content": message})
        return out

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout, connect=min(CONNECT_TIMEOUT, self.timeout))
        )

    async def _refusal(self, response: httpx.Response) -> AgentError:
        await response.aread()
        detail = response.text.strip()
        try:
            error = response.json().get("error")
            detail = error.get("message", detail) if isinstance(error, dict) else str(error or detail)
        except (ValueError, AttributeError):
            pass
        status = f"{response.status_code} {response.reason_phrase}".strip()
        return AgentError(f"{self.url} answered {status}" + (f": {detail[:300]}" if detail else ""))

    async def run(self, turn: Turn) -> None:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self._messages(turn.history, turn.message, self.system_prompt),
            "stream": True,
            "stream_options": {"include_usage": True},
            **self.options,
        }
        headers = self._headers()
        try:
            async with (
                self._client() as client,
                aconnect_sse(client, "POST", self.url, json=body, headers=headers) as source,
            ):
                if source.response.status_code >= 400:
                    raise await self._refusal(source.response)
                async for event in source.aiter_sse():
                    if event.data.strip() == "[DONE]":
                        break
                    await self._chunk(turn, event.data)
        except httpx.TimeoutException:
            raise AgentError(f"no answer from {self.url} for {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise AgentError(f"the stream from {self.url} failed: {exc or type(exc).__name__}") from None
        except SSEError as exc:
            raise AgentError(f"{self.url} did not answer with an event stream: {exc}") from None

    async def _chunk(self, turn: Turn, data: str) -> None:
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            raise AgentError(f"{self.url} sent an event that is not JSON: {data[:200]}") from None
        if not isinstance(chunk, dict):
            return
        if chunk.get("error"):
            error = chunk["error"]
            raise AgentError(str(error.get("message", error) if isinstance(error, dict) else error))
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                await turn.pace()
                turn.emit("thinking", {"content": str(reasoning)})
            content = delta.get("content")
            if content:
                await turn.pace()
                turn.text(str(content))
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            turn.usage = {
                k: v
                for k in ("prompt_tokens", "completion_tokens", "total_tokens")
                if isinstance(v := usage.get(k), int)
            }

    async def complete(self, prompt: str, system: str | None, timeout: float) -> str:
        body = {
            "model": self.model,
            "messages": self._messages([], prompt, system),
            "stream": False,
            **self.options,
        }
        try:
            async with self._client() as client:
                response = await client.post(self.url, json=body, headers=self._headers())
                if response.status_code >= 400:
                    raise await self._refusal(response)
                return str(response.json()["choices"][0]["message"]["content"])
        except httpx.TimeoutException:
            raise AgentError(f"no answer from {self.url} for {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise AgentError(f"the request to {self.url} failed: {exc or type(exc).__name__}") from None
        except (KeyError, IndexError, TypeError, ValueError):
            raise AgentError(f"{self.url} answered with an unexpected body") from None
