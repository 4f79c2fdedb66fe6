-- cru.fs (also the global `fs` and crucible.fs): synchronous file-system calls.
--
-- Every function returns at once (none waits on the loop), so they work from any code, a
-- coroutine or not. Failures raise, naming the OS error and the path:
--   cell[2]:1: No such file or directory (os error 2): 'missing.txt'
-- Relative paths resolve against the kernel's working directory (the notebook's folder).
-- `write`, `append`, `copy` and `rename` create the missing parent directories of their target.
--
--   fs.write("out/notes.txt", "first line\n")
--   fs.append("out/notes.txt", "second line\n")
--   for _, name in ipairs(fs.list("out")) do print(name, fs.is_file("out/" .. name)) end
--   fs.remove("out")   -- directories go with everything in them

local engine, native = ...
local raise, bad_argument, as_string = engine.raise, engine.bad_argument, engine.as_string
local type, collectgarbage = type, collectgarbage

local fs = {}

-- A string parameter, as mlua converts one: strings, and numbers through tostring.
local function str(value, n, fname)
  local s = as_string(value)
  if s == nil then bad_argument(n, fname, "string", type(value)) end
  return s
end

-- The native's outcome: its value, or its message raised at the caller's line. Callers keep
-- their frame (no tail call), so the position can be found.
local function done(ok, value)
  if not ok then raise(value) end
  return value
end

--- Reads the whole file at `path` and returns its contents.
---@param path string
---@return string contents
function fs.read(path)
  local p = str(path, 1, "read")
  local ok, contents, may_fit = native.read(p)
  if not ok and may_fit then -- too big for the heap's free room: it may fit once garbage goes
    collectgarbage("collect")
    ok, contents = native.read(p)
  end
  contents = done(ok, contents)
  return contents
end

--- Writes `content` to the file at `path`, replacing what it held; creates the file and its
--- missing parent directories.
---@param path string
---@param content string
function fs.write(path, content)
  done(native.write(str(path, 1, "write"), str(content, 2, "write")))
end

--- Appends `content` to the file at `path`; creates the file and its missing parent
--- directories.
---@param path string
---@param content string
function fs.append(path, content)
  done(native.append(str(path, 1, "append"), str(content, 2, "append")))
end

--- Creates the directory `path` and any missing parents; a directory that exists is fine.
---@param path string
function fs.mkdir(path)
  done(native.mkdir(str(path, 1, "mkdir")))
end

--- Whether something exists at `path` (a link counts if it leads somewhere).
---@param path string
---@return boolean
function fs.exists(path)
  return native.exists(str(path, 1, "exists"))
end

--- Whether `path` is a file (or a link to one).
---@param path string
---@return boolean
function fs.is_file(path)
  return native.is_file(str(path, 1, "is_file"))
end

--- Whether `path` is a directory (or a link to one).
---@param path string
---@return boolean
function fs.is_dir(path)
  return native.is_dir(str(path, 1, "is_dir"))
end

--- Removes the file at `path`, or the directory with everything in it (a link is removed,
--- not what it leads to).
---@param path string
function fs.remove(path)
  done(native.remove(str(path, 1, "remove")))
end

--- The names of the entries of directory `path` (not full paths), sorted.
---@param path string
---@return string[] names
function fs.list(path)
  local names = done(native.list(str(path, 1, "list")))
  return names
end

--- Copies the file `src` to `dest` (contents and permissions), replacing a file there.
--- `src` must be a file; `dest` must not be a directory.
---@param src string
---@param dest string
function fs.copy(src, dest)
  done(native.copy(str(src, 1, "copy"), str(dest, 2, "copy")))
end

--- Moves or renames the file or directory `src` to `dest`, replacing a file there (or an
--- empty directory, when `src` is a directory).
---@param src string
---@param dest string
function fs.rename(src, dest)
  done(native.rename(str(src, 1, "rename"), str(dest, 2, "rename")))
end

-- Safe mode: changing files needs the filesystem capability (reading does not, as with io.open).
engine.needs("filesystem", fs, {"write", "append", "mkdir", "remove", "copy", "rename"}, "cru.fs.")

return fs
