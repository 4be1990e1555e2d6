std = "max"
max_line_length = 120
exclude_files = { "build/**" }
files["spec/**/*_spec.lua"] = { std = "+busted" }
files["spec/support/*.lua"] = { std = "+busted" }
-- host scripts run inside Neovim, HAProxy and nginx, with those hosts' globals
files["spec/hosts/nvim.lua"] = { read_globals = { "vim" } }
files["spec/hosts/haproxy.lua"] = { read_globals = { "core" } }
files["spec/hosts/nginx.lua"] = { read_globals = { "ngx" } }
