"""cru.plugins and cru.services are documented like every cru.* function (help in the notebook)."""

from __future__ import annotations

from crucible_kernel.kernel.docs import doc_of, public_functions


async def test_every_function_of_cru_plugins_and_cru_services_has_a_description(lua):
    rt = lua.runtime
    cru = rt.lua.globals()[b"cru"]
    functions = public_functions(rt, {"cru.plugins": cru[b"plugins"], "cru.services": cru[b"services"]})
    paths = {path for path, _ in functions}
    assert {"cru.plugins.load", "cru.plugins.tool", "cru.services.list", "cru.services.restart"} <= paths
    missing = sorted(path for path, fn in functions if not ((doc := doc_of(rt, fn)) and doc.summary))
    assert missing == [], "public functions without a doc comment: " + ", ".join(missing)
    assert doc_of(rt, cru[b"plugins"][b"load"]).is_async
