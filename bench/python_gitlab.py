"""The same cases with python-gitlab, for comparison (make bench)."""
import os
import time

import gitlab

gl = gitlab.Gitlab(os.environ["GITLAB_URL"], private_token=os.environ["GITLAB_TOKEN"])
p1 = gl.projects.get(1, lazy=True)
p2 = gl.projects.get(2, lazy=True)


def case(name, n, unit, f):
    t0 = time.monotonic()
    f()
    dt = time.monotonic() - t0
    print("%-46s %7d %-6s %8.3f s %10.1f %s/s" % (name, n, unit, dt, n / dt, unit))


case("get, one kept-alive connection", 300, "calls", lambda: [p1.jobs.get(1009) for _ in range(300)])
case("list, 100 jobs a page, decoded to tables", 30, "pages",
     lambda: [p2.jobs.list(per_page=100, page=1) for _ in range(30)])
case("each over 350 jobs (keyset pages)", 350, "jobs",
     lambda: sum(1 for _ in p2.jobs.list(iterator=True, pagination="keyset", per_page=100)))
