--- An LDoc filter (`ldoc --filter entries.print`): every entry of the
-- reference on a line of its own, tab-separated: the module, the entry's
-- name, its type, then its parameters (an options table's fields as
-- `opts.name`), for the spec that checks the reference against the module.
local M = {}

function M.print(modules)
  for mod in modules:iter() do
    for item in mod.items:iter() do
      local names = {}
      for _, p in ipairs(item.params or {}) do
        names[#names + 1] = p
        for _, sub in ipairs(item.subparams and item.subparams[p] or {}) do names[#names + 1] = sub end
      end
      io.write(mod.name, "\t", item.name, "\t", item.type, "\t", table.concat(names, " "), "\n")
    end
  end
end

return M
