return require("gitlab.jobs.nvim.health")
