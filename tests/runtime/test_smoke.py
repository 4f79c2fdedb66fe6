async def test_a_chunk_returns_its_values(lua):
    assert await lua.eval("return 1 + 1, 'two'") == (2, "two")


async def test_print_goes_to_the_host(lua):
    await lua.run("print('hello', 42)")
    assert lua.out == "hello\t42\n"
