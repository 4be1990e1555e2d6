rockspec_format = "3.0"
package = "gitlab-jobs"
version = "scm-1"
source = {
  url = "git+https://gitlab.com/gitlab-jobs/gitlab-jobs.git",
}
description = {
  summary = "The GitLab CI Jobs API for Lua, in C over libcurl",
  detailed = [[
List, inspect, follow, retry, cancel, erase and play GitLab CI jobs from Lua
5.1-5.4 and LuaJIT. Jobs come back as plain Lua tables; errors as nil plus a
table with kind, status and GitLab's message. The transport can be replaced
by the host's own (OpenResty, HAProxy, Neovim).
]],
  license = "MIT",
  labels = { "gitlab", "ci", "http", "libcurl" },
}
dependencies = {
  "lua >= 5.1",
  "lua-cjson",
  "argparse",
}
-- Debian keeps curl.h under a multiarch include directory LuaRocks does not
-- search; naming the library alone lets gcc find the header by itself.
external_dependencies = {
  CURL = { library = "curl" },
}
build = {
  type = "builtin",
  modules = {
    ["gitlab.jobs"] = "lua/gitlab/jobs.lua",
    ["gitlab.jobs.pager"] = "lua/gitlab/jobs/pager.lua",
    ["gitlab.jobs.filter"] = "lua/gitlab/jobs/filter.lua",
    ["gitlab.jobs.errors"] = "lua/gitlab/jobs/errors.lua",
    ["gitlab.jobs.poll"] = "lua/gitlab/jobs/poll.lua",
    ["gitlab.jobs.wait"] = "lua/gitlab/jobs/wait.lua",
    ["gitlab.jobs.trace"] = "lua/gitlab/jobs/trace.lua",
    ["gitlab.jobs.batch"] = "lua/gitlab/jobs/batch.lua",
    ["gitlab.jobs.cli"] = "lua/gitlab/jobs/cli.lua",
    ["gitlab.jobs.cli_run"] = "lua/gitlab/jobs/cli_run.lua",
    ["gitlab.jobs.cli_out"] = "lua/gitlab/jobs/cli_out.lua",
    ["gitlab.jobs.cli_json"] = "lua/gitlab/jobs/cli_json.lua",
    ["gitlab.jobs.cli_man"] = "lua/gitlab/jobs/cli_man.lua",
    ["gitlab.jobs.core"] = {
      sources = {
        "src/util.c", "src/buf.c", "src/args.c", "src/request.c", "src/answer.c", "src/budget.c", "src/file.c",
        "src/body.c",
        "src/call.c", "src/tries.c", "src/response.c", "src/curl_transport.c", "src/lua_transport.c",
        "src/build.c", "src/artifacts.c", "src/calls.c", "src/options.c", "src/client.c", "src/run.c",
        "src/poll.c", "src/step.c",
        "src/module.c",
      },
      libraries = { "curl", "pthread" },
      libdirs = { "$(CURL_LIBDIR)" },
      defines = { "_POSIX_C_SOURCE=200809L" },
    },
  },
  install = {
    bin = { ["gitlab-jobs"] = "bin/gitlab-jobs" },
  },
}
