std = "max"
max_line_length = 120
exclude_files = { "build/**" }
files["spec/**/*_spec.lua"] = { std = "+busted" }
files["spec/support/*.lua"] = { std = "+busted" }
-- host scripts run inside Neovim, HAProxy and nginx, with those hosts' globals
files["spec/hosts/nvim.lua"] = { read_globals = { "vim" } }
-- the Neovim plugin, and what the nvim specs run inside Neovim
for _, glob in ipairs({ "plugin/*.lua", "lua/gitlab/jobs/nvim/*.lua", "lua/gitlab-jobs/*.lua", "spec/nvim/*.lua" }) do
  files[glob] = { globals = { "vim" } } -- vim.bo, vim.b, vim.notify are set, not only read
end
files["spec/nvim/helper.lua"] = { std = "+busted" }
files["spec/hosts/haproxy.lua"] = { read_globals = { "core" } }
files["spec/hosts/nginx.lua"] = { read_globals = { "ngx" } }
