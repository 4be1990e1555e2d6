-- `:checkhealth gitlab-jobs` looks for lua/gitlab-jobs/health.lua (Neovim 0.7
-- and later take the name from this directory); the check itself lives with
-- the plugin's other modules.
return require("gitlab.jobs.nvim.health")
