"""Scale data for the benchmark: many projects of many jobs, made cheaply in
project 4's job shape, and job list pages rendered once and served from memory
(so that serving them costs the fake next to nothing).

All functions expect the caller to hold Store.lock.
"""

import model

# Scale projects live in their own group; their ids follow the seed's.
NAMESPACE_ID = 30
GROUP = "scale"
MAX_JOBS = 1_000_000
MAX_PER_PAGE = 100


class ScaleJob(model.Job):
    """A job of a scale project. Any write to one marks its project's rendered pages
    as stale (they are then rendered again, job by job, like any other page)."""
    __slots__ = ()
    dirty = set()

    def __setattr__(self, name, value):
        try:
            ScaleJob.dirty.add(self.project_id)
        except AttributeError:  # project_id itself is not set yet
            pass
        model.Job.__setattr__(self, name, value)


class Pages:
    """One project's job pages as rendered: (first id, last id, rows) -> JSON body."""
    __slots__ = ("offset", "bodies")

    def __init__(self, offset):
        self.offset = offset
        self.bodies = {}


def validate(data):
    """None when data is a valid `POST /__control/projects` body, else what is wrong."""
    if not isinstance(data, dict) or set(data) - {"count", "jobs", "prerender"}:
        return "projects: body must be {\"count\": N, \"jobs\": M, \"prerender\": per_page or false}"
    for k in ("count", "jobs"):
        v = data.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            return "projects: %s must be a positive integer" % k
    if data["count"] * data["jobs"] > MAX_JOBS:
        return "projects: count * jobs must be at most %d" % MAX_JOBS
    pre = data.get("prerender", False)
    if pre is not False and pre is not True and (
            not isinstance(pre, int) or isinstance(pre, bool) or not 1 <= pre <= MAX_PER_PAGE):
        return "projects: prerender must be false, true (100 a page) or a page size 1..100"
    return None


def add_projects(store, count, jobs, base, offset, encode, prerender=False):
    """Adds count projects of jobs builds each (pipelines of 25, newest last, as in project 4;
    every 100th job failed) and answers what was made. prerender (a page size, or true for 100)
    renders each project's job list pages once, newest first, to be served from memory."""
    first_pid = max(store.projects) + 1
    pipeline_id = max(store.pipelines) + 1
    first_job = store.next_id
    t0 = model.parse_time("2026-01-01T00:00:00.000Z")
    made = []
    for n in range(count):
        pid = first_pid + n
        store._add_project(model.Project(pid, "%s/project-%d" % (GROUP, pid), "Scale project %d" % (n + 1),
                                         namespace_id=NAMESPACE_ID))
        pipelines = []
        for p in range((jobs + 24) // 25):
            created = t0 + p * 3600.0
            pl = model.Pipeline(pipeline_id, 1 + p, pid, "main", model._sha("scale-%d" % pipeline_id), "success",
                                created, "Scale change %d" % (p + 1), commit_created="2026-01-01T00:00:00.000+01:00")
            store.pipelines[pipeline_id] = pl
            pipelines.append(pl)
            pipeline_id += 1
        for i in range(jobs):
            name, stage, tags = model.NAMES25[i % 25]
            st, reason = model.huge_status(i)
            pl = pipelines[i // 25]
            c = pl.created_at + 0.05 + (i % 25) * 0.01
            job = ScaleJob(store.next_id, pid, pl.id, name, stage, st, tag_list=tags, created_at=c,
                           started_at=c + 5.0, finished_at=c + 65.0, queued_duration=5.0,
                           failure_reason=reason, runner="linux")
            store.next_id += 1
            store.jobs[job.id] = job
            if st == "failed":
                pl.status = "failed"
        store._project_cache.pop(pid, None)
        made.append(pid)
    ScaleJob.dirty.difference_update(made)
    per = MAX_PER_PAGE if prerender is True else int(prerender or 0)
    if per:
        for pid in made:
            render_pages(store, pid, per, base, offset, encode)
    return {"projects": made, "jobs": jobs, "first_job_id": first_job, "last_job_id": store.next_id - 1,
            "prerendered": per or None}


def render_pages(store, project_id, per, base, offset, encode):
    """Renders the project's job list once, per jobs a page, newest first."""
    builds = store.project_builds(project_id)
    pages = Pages(offset)
    for start in range(0, len(builds), per):
        rows = builds[start:start + per]
        pages.bodies[(rows[0].id, rows[-1].id, len(rows))] = encode([store.render(j, base, offset) for j in rows])
    store.pages[project_id] = pages
    ScaleJob.dirty.discard(project_id)


def page_body(store, project_id, rows, offset):
    """The body of a page of exactly these rows when it was rendered once and nothing of the
    project changed since, else None (the page is then rendered as usual)."""
    pages = store.pages.get(project_id)
    if pages is None or not rows:
        return None
    if project_id in ScaleJob.dirty:
        del store.pages[project_id]
        return None
    if pages.offset != offset:
        return None
    return pages.bodies.get((rows[0].id, rows[-1].id, len(rows)))
