-- What the example scripts share: loaded with dofile from beside them,
--   local cli = dofile((arg[0]:match("^(.-)[^/]*$")) .. "cli.lua")
local M = {}

--- Prints "usage: lua examples/<text>" to stderr and exits with status 2.
function M.usage(text)
  io.stderr:write("usage: lua examples/", text, "\n")
  os.exit(2)
end

--- A project as given on the command line: an id, or a path.
function M.project(s)
  return tonumber(s) or s
end

--- Is file descriptor fd a terminal?
function M.isatty(fd)
  local ok = os.execute(("test -t %d"):format(fd))
  return ok == true or ok == 0
end

--- Prints "error: <err>" to stderr and exits with status 1.
function M.fail(err)
  io.stderr:write("error: ", tostring(err), "\n")
  os.exit(1)
end

return M
