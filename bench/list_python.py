"""One run of the list case with python-gitlab's lazy iterator, for
bench/side_by_side.py (a process of its own). Prints the number of jobs.
    GITLAB_URL=... GITLAB_TOKEN=... /usr/bin/python3 bench/list_python.py PROJECT
"""
import os
import sys

import gitlab

gl = gitlab.Gitlab(os.environ["GITLAB_URL"], private_token=os.environ["GITLAB_TOKEN"])
project = gl.projects.get(int(sys.argv[1]), lazy=True)
n = 0
for job in project.jobs.list(iterator=True, per_page=100, pagination="keyset"):
    if job.id:
        n += 1
print(n)
