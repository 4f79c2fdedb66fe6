"""Records notebooks/recordings/sessions-demo.jsonl, the recording notebooks/sessions.ipynb replays.

The notebook talks to an OpenAI-compatible server at llama.cpp's address (127.0.0.1:8080). No
model can be reached where the tests run, so this script stands in for one: it serves canned
answers there, streamed as llama.cpp streams them, deletes the old recording, and runs the
notebook, whose `%sessions auto` then records. To record a real model instead, start
`llama-server` on port 8080, delete the recording and run the notebook.

    .venv/bin/python notebooks/recordings/record_demo.py
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE.parent / "sessions.ipynb"
RECORDING = HERE / "sessions-demo.jsonl"

ANSWERS = {
    "What is a Crucible plugin?": (
        "A Crucible plugin is a Lua module that the daemon loads at start-up. It can register tools "
        "for agents, commands, and long-running services such as a chat gateway."
    ),
    "Show me the smallest one.": (
        'The smallest plugin is a file that returns a spec: `return { name = "hello", version = "0.1.0" }`.'
    ),
}


async def serve() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = json.loads(await reader.readexactly(length))
        text = ANSWERS.get(body["messages"][-1]["content"], "I do not know.")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
        words = text.split(" ")
        for i, word in enumerate(words):
            chunk = {
                "choices": [{"index": 0, "delta": {"content": word + (" " if i < len(words) - 1 else "")}}]
            }
            writer.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await writer.drain()
            await asyncio.sleep(0.03)
        prompt = sum(len(m["content"].split()) for m in body["messages"])
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": len(words),
            "total_tokens": prompt + len(words),
        }
        writer.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\ndata: [DONE]\n\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 8080)
    async with server:
        await server.serve_forever()


def main() -> None:
    from crucible_kernel.notebooks import execute_notebook

    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
    RECORDING.unlink(missing_ok=True)
    os.chdir(HERE.parent)
    execute_notebook(str(NOTEBOOK))
    print(f"recorded {RECORDING} ({len(RECORDING.read_text().splitlines())} lines)")


if __name__ == "__main__":
    main()
