"""The cru.* plugin runtime: Lua 5.4 on asyncio. Knows nothing of Jupyter."""

from .capabilities import SafeMode
from .engine import DEFAULT_MAX_MEMORY, Runtime
from .errors import ApiError, LuaError, LuaSyntaxError, RuntimeFailure, Stopped
from .host import Host, TerminalHost
from .tasks import LuaTask, TaskState

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "ApiError",
    "Host",
    "LuaError",
    "LuaSyntaxError",
    "LuaTask",
    "Runtime",
    "RuntimeFailure",
    "SafeMode",
    "Stopped",
    "TaskState",
    "TerminalHost",
]
