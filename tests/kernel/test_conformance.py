"""jupyter_kernel_test's protocol conformance suite, with every optional check switched on."""

from __future__ import annotations

import jupyter_kernel_test as jkt

from .conftest import KERNEL_NAME


class CrucibleKernelTests(jkt.KernelTests):
    kernel_name = KERNEL_NAME
    language_name = "lua"
    file_extension = ".lua"

    code_hello_world = 'print("hello, world")'
    code_stderr = 'io.stderr:write("an error line\\n")'
    code_generate_error = 'error("boom")'
    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "'con' .. 'cat'", "result": '"concat"'},
        {"code": "math.type(2^53)", "result": '"float"'},
        {"code": "local t = {b = 2, a = 1}\nreturn t.a + t.b", "result": "3"},
    ]
    code_display_data = [
        {"code": 'cru.display.html("<b>bold</b>")', "mime": "text/html"},
        {"code": 'cru.display.markdown("*emphasis*")', "mime": "text/markdown"},
        {"code": "display({1, 2, 3})", "mime": "text/plain"},
    ]
    completion_samples = [
        {"text": "strin", "matches": {"string"}},
        {"text": "string.up", "matches": {"string.upper"}},
        {"text": "cru.timer.sl", "matches": {"cru.timer.sleep"}},
    ]
    complete_code_samples = ["1 + 1", "x = 1", "for i = 1, 2 do end", "local t = {\n}"]
    incomplete_code_samples = ["for i = 1, 2 do", "function f(", "x = ", "local t = {"]
    invalid_code_samples = ["end end", "local = 1", "x = = 1"]
    code_page_something = "?cru.timer.sleep"
    code_history_pattern = "*con*"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "cru.timer.sleep"
    code_clear_output = "clear_output()"


class CrucibleIopubWelcomeTests(jkt.IopubWelcomeTests):
    kernel_name = KERNEL_NAME
    support_iopub_welcome = True
