"""Data model, seed data and job actions of the fake GitLab server.

Everything here is plain data plus functions; the HTTP side lives in server.py.
All functions expect the caller to hold Store.lock.
"""

import base64
import calendar
import copy
import threading
import time

import archives

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

STATUSES = (
    "created", "waiting_for_resource", "preparing", "waiting_for_callback",
    "pending", "running", "success", "failed", "canceling", "canceled",
    "skipped", "manual", "scheduled",
)
FINISHED = frozenset(("success", "failed", "canceled", "skipped"))
CANCELABLE = frozenset((
    "created", "waiting_for_resource", "preparing", "waiting_for_callback",
    "pending", "running", "manual", "scheduled",
))
RETRYABLE = frozenset(("failed", "canceled", "success"))
# A job token stays valid while its job is in one of these states.
TOKEN_LIVE = frozenset(("running", "canceling"))

PROJECT1_ID = 1
HUGE_FIRST_ID = 30001
HUGE_COUNT = 10050

STEP_KEYS = frozenset((
    "status", "failure_reason", "fields", "append_log", "set_log", "log_size",
    "append_log_base64", "set_log_base64", "retried",
    "artifacts_size", "artifacts_files", "artifacts_remove",
))
ARTIFACTS_LIFETIME = 30 * 86400.0


def parse_time(s):
    """'2026-11-19T14:05:12.345Z' -> epoch seconds (float)."""
    main, _, frac = s.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    return secs + (int(frac.ljust(3, "0")[:3]) / 1000.0 if frac else 0.0)


def fmt_time(epoch, offset_minutes=0):
    """epoch -> GitLab-style ISO 8601 with milliseconds ('...T10:15:30.123Z')."""
    if epoch is None:
        return None
    ms_total = int(round(epoch * 1000))
    secs, ms = divmod(ms_total, 1000)
    t = time.gmtime(secs + offset_minutes * 60)
    out = time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03d" % ms
    if not offset_minutes:
        return out + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    h, m = divmod(abs(offset_minutes), 60)
    return "%s%s%02d:%02d" % (out, sign, h, m)


def parse_offset(value):
    """'Z' | '+02:00' | '-05:30' -> minutes. Raises ValueError."""
    if value in (None, "", "Z", "z", "+00:00"):
        return 0
    if len(value) != 6 or value[0] not in "+-" or value[3] != ":":
        raise ValueError("utc_offset must look like +hh:mm, -hh:mm or Z")
    mins = int(value[1:3]) * 60 + int(value[4:6])
    return mins if value[0] == "+" else -mins


# --------------------------------------------------------------------------
# Static fixtures (users, runners, commits)
# --------------------------------------------------------------------------

def user_json(base):
    return {
        "id": 1,
        "name": "Administrator",
        "username": "root",
        "state": "active",
        "locked": False,
        "avatar_url": "https://www.gravatar.com/avatar/e64c7d89f26bd1972efa854d13d7dd61?s=80&d=identicon",
        "web_url": base + "/root",
        "created_at": "2024-02-03T10:11:12.000Z",
        "bio": "",
        "location": "",
        "public_email": None,
        "skype": "",
        "linkedin": "",
        "twitter": "",
        "discord": "",
        "website_url": "",
        "organization": "",
        "job_title": "",
        "pronouns": None,
        "bot": False,
        "work_information": None,
        "followers": 0,
        "following": 0,
        "local_time": None,
    }


def current_user_json(base):
    u = user_json(base)
    u.update({
        "last_sign_in_at": "2026-11-20T08:00:01.000Z",
        "confirmed_at": "2024-02-03T10:11:12.000Z",
        "last_activity_on": "2026-11-20",
        "email": "admin@example.com",
        "theme_id": 1,
        "color_scheme_id": 1,
        "projects_limit": 100000,
        "current_sign_in_at": "2026-11-20T08:00:01.000Z",
        "identities": [],
        "can_create_group": True,
        "can_create_project": True,
        "two_factor_enabled": False,
        "external": False,
        "private_profile": False,
        "commit_email": "admin@example.com",
        "is_admin": True,
        "note": None,
    })
    return u


def runner_json(rid, description, shared, online):
    return {
        "id": rid,
        "description": description,
        "ip_address": None,
        "active": True,
        "paused": False,
        "is_shared": shared,
        "runner_type": "instance_type" if shared else "project_type",
        "name": "gitlab-runner",
        "online": online,
        "status": "online" if online else "offline",
    }


def runner_manager_json(rid, system_id, version, revision, platform, arch, created, contacted, ip, status):
    return {"id": rid, "system_id": system_id, "version": version, "revision": revision, "platform": platform,
            "architecture": arch, "created_at": created, "contacted_at": contacted, "ip_address": ip,
            "status": status}


RUNNERS = {
    "linux": runner_json(7, "shared-linux-docker-1", True, True),
    "windows": runner_json(12, "windows-2022-shell", False, False),
    "macos": runner_json(21, "saas-macos-medium-m1", True, True),
}

RUNNER_MANAGERS = {
    "linux": runner_manager_json(3, "s_6b1e4f06fcfd", "17.5.3", "12030cf4", "linux", "amd64",
                                 "2026-10-01T07:00:00.000Z", "2026-11-20T09:59:58.000Z", "10.0.3.17", "online"),
    "windows": runner_manager_json(5, "s_0c2fa1d9e8b7", "17.4.1", "8fd2bc91", "windows", "amd64",
                                   "2026-09-12T07:00:00.000Z", "2026-11-18T22:03:11.000Z", "10.0.7.4", "offline"),
    "macos": runner_manager_json(9, "s_a91e55c0d3f2", "17.5.3", "12030cf4", "darwin", "arm64",
                                 "2026-10-01T07:00:00.000Z", "2026-11-20T09:59:40.000Z", "10.0.9.2", "online"),
}


def runner_key_for(tags):
    if "windows" in tags:
        return "windows"
    if "macos" in tags:
        return "macos"
    return "linux"


# --------------------------------------------------------------------------
# Model objects
# --------------------------------------------------------------------------

class Project:
    __slots__ = ("id", "path", "description", "visible", "moved_to", "created_at",
                 "namespace_id", "parent_id")

    def __init__(self, id, path, description, visible=True, moved_to=None,
                 created_at="2025-03-04T09:00:00.000Z", namespace_id=10, parent_id=None):
        self.id = id
        self.path = path
        self.description = description
        self.visible = visible
        self.moved_to = moved_to
        self.created_at = created_at
        self.namespace_id = namespace_id
        self.parent_id = parent_id

    @property
    def name(self):
        return self.path.rsplit("/", 1)[1]


class Pipeline:
    __slots__ = ("id", "iid", "project_id", "ref", "tag", "sha", "status", "source",
                 "created_at", "updated_at", "title", "author_name", "author_email",
                 "commit_created")

    def __init__(self, id, iid, project_id, ref, sha, status, created_at, title,
                 tag=False, source="push", author_name="Jane Doe",
                 author_email="jane.doe@example.com", commit_created=None):
        self.id = id
        self.iid = iid
        self.project_id = project_id
        self.ref = ref
        self.tag = tag
        self.sha = sha
        self.status = status
        self.source = source
        self.created_at = created_at
        self.updated_at = created_at + 3600.0
        self.title = title
        self.author_name = author_name
        self.author_email = author_email
        # commit created_at is written with an offset, like GitLab does for commits
        self.commit_created = commit_created


class Lineage:
    """Retry scripts shared by a scripted job and every job retried from it."""
    __slots__ = ("retries", "count")

    def __init__(self, retries):
        self.retries = retries
        self.count = 0


class Job:
    __slots__ = (
        "id", "project_id", "pipeline_id", "kind", "name", "stage", "status", "ref",
        "tag", "tag_list", "allow_failure", "created_at", "started_at", "finished_at",
        "erased_at", "duration", "queued_duration", "failure_reason", "artifacts",
        "archive", "artifacts_expire_at", "runner", "coverage", "archived", "log",
        "retried", "trace_forbidden", "downstream", "fields", "variables", "steps",
        "lineage", "pending_cancel", "token", "when",
    )

    def __init__(self, id, project_id, pipeline_id, name, stage, status,
                 ref="main", tag=False, tag_list=(), kind="build", allow_failure=False,
                 created_at=None, started_at=None, finished_at=None, duration=None,
                 queued_duration=None, failure_reason=None, artifacts=None,
                 archive=None, runner=None, log=b"", coverage=None,
                 retried=False, trace_forbidden=False, downstream=None, token=None,
                 when="on_success"):
        self.id = id
        self.project_id = project_id
        self.pipeline_id = pipeline_id
        self.kind = kind
        self.name = name
        self.stage = stage
        self.status = status
        self.ref = ref
        self.tag = tag
        self.tag_list = list(tag_list)
        self.allow_failure = allow_failure
        self.created_at = created_at
        self.started_at = started_at
        self.finished_at = finished_at
        self.erased_at = None
        self.duration = duration
        self.queued_duration = queued_duration
        self.failure_reason = failure_reason
        self.artifacts = artifacts if artifacts is not None else []
        self.archive = archive
        self.artifacts_expire_at = (finished_at + ARTIFACTS_LIFETIME) if (archive and finished_at) else None
        self.runner = runner
        self.coverage = coverage
        self.archived = False
        self.log = log
        self.retried = retried
        self.trace_forbidden = trace_forbidden
        self.downstream = downstream
        self.fields = None
        self.variables = []
        self.steps = None
        self.lineage = None
        self.pending_cancel = False
        self.token = token
        self.when = when


class HugeJob(Job):
    """A job of project 4. Its 10,050 are made once and kept across resets
    while none of them changes: any write to one marks them all for remaking
    (in-place writes go through an assignment first: fields, steps)."""
    __slots__ = ()
    touched = [False]

    def __setattr__(self, name, value):
        HugeJob.touched[0] = True
        Job.__setattr__(self, name, value)


# --------------------------------------------------------------------------
# Logs
# --------------------------------------------------------------------------

ESC = b"\x1b"
CLR = b"\r\x1b[0K"


def _runner_header(runner_key):
    desc = RUNNERS[runner_key]["description"]
    mgr = RUNNER_MANAGERS[runner_key]
    return (
        b"\x1b[0KRunning with gitlab-runner " + mgr["version"].encode() + b" (" +
        mgr["revision"].encode() + b")\x1b[0;m\n"
        b"\x1b[0K  on " + desc.encode() + b" xS6Vzpvo, system ID: " +
        mgr["system_id"].encode() + b"\x1b[0;m\n"
    )


def _sec_start(t, name, title, collapsed=False):
    opt = b"[collapsed=true]" if collapsed else b""
    return (b"section_start:%d:%s%s" % (int(t), name.encode(), opt) + CLR +
            b"\x1b[0K\x1b[36;1m" + title.encode() + b"\x1b[0;m\x1b[0;m\n")


def _sec_end(t, name):
    return b"section_end:%d:%s" % (int(t), name.encode()) + CLR


def _section(t0, t1, name, title, lines, collapsed=False):
    return _sec_start(t0, name, title, collapsed) + b"".join(lines) + _sec_end(t1, name)


def _green(text):
    """The runner's bold green lines: the commands it runs, its own progress notes."""
    return b"\x1b[32;1m" + text + b"\x1b[0;m\n"


def _shell(command):
    return _green(b"$ " + command)


def _note(text):
    return b"\x1b[0K" + text + b"\x1b[0;m\n"


PREPARE = 'Preparing the "docker" executor'
STEP_SCRIPT = 'Executing "step_script" stage of the job script'


def log_compile_ansi(t0):
    """Realistic successful build log: ANSI colours, \\r progress, sections."""
    return b"".join([
        _runner_header("linux"),
        _section(t0, t0 + 3, "prepare_executor", PREPARE, [
            _note(b"Using Docker executor with image gcc:14 ..."),
            _note(b"Pulling docker image gcc:14 ..."),
        ]),
        _section(t0 + 3, t0 + 6, "get_sources", "Getting source from Git repository", [
            _green(b"Fetching changes with git depth set to 20..."),
            b"Initialized empty Git repository in /builds/acme/platform/api/.git/\n",
            _green(b"Created fresh repository."),
            _green(b"Checking out 9d2f4a1c as detached HEAD (ref is main)..."),
        ], collapsed=True),
        _section(t0 + 6, t0 + 70, "step_script", STEP_SCRIPT, [
            _shell(b"./configure --prefix=/usr"),
            b"checking for gcc... gcc\n",
            b"checking whether the C compiler works... \x1b[32myes\x1b[0m\n",
            _shell(b"make deps"),
            b"Downloading deps:   0%\rDownloading deps:  25%\rDownloading deps:  50%\r"
            b"Downloading deps:  75%\rDownloading deps: 100%\n",
            _shell(b"make -j8"),
        ] + [b"cc -O2 -Wall -c src/%s.c -o build/%s.o\n" % (m, m) for m in (b"core", b"http")] + [
            b"\x1b[33mwarning:\x1b[0m src/http.c:88: unused variable 'len' [-Wunused-variable]\n",
            b"cc -O2 -Wall -c src/json.c -o build/json.o\n",
            b"cc -shared -o build/core.so build/core.o build/http.o build/json.o\n",
        ]),
        _section(t0 + 70, t0 + 73, "upload_artifacts_on_success", "Uploading artifacts for successful job", [
            _green(b"Uploading artifacts..."),
            b"build/: found 4 matching artifact files and directories\x1b[0;m \n",
            b"Uploading artifacts as \"archive\" to coordinator... 201 Created\x1b[0;m  id\x1b[0;m=1008 "
            b"responseStatus\x1b[0;m=201 Created token\x1b[0;m=glcbt-64\n",
        ]),
        _section(t0 + 73, t0 + 74, "cleanup_file_variables", "Cleaning up project directory and file based variables",
                 []),
        OK_LINE,
    ])


def log_simple(t0, runner_key, script_lines, result_line, end_sections=True):
    parts = [
        _runner_header(runner_key),
        _section(t0, t0 + 2, "prepare_executor", PREPARE, [_note(b"Using Docker executor with image alpine:3.20 ...")]),
        _sec_start(t0 + 2, "step_script", STEP_SCRIPT),
    ]
    parts.extend(script_lines)
    if end_sections:
        parts.append(_sec_end(t0 + 30, "step_script"))
    if result_line:
        parts.append(result_line)
    return b"".join(parts)


OK_LINE = _green(b"Job succeeded")
FAIL_LINE = b"\x1b[31;1mERROR: Job failed: exit code 1\n\x1b[0;m\n"

_SYNTH_TEXT = [
    b"compiling module_%d.c ....................................................",
    b"running test case test_%d ................................................",
    b"\x1b[32m  ok\x1b[0m fetched artifact chunk %d .................................",
    b"Downloading layer %d: 100% |####################################|........",
]


def synthetic_log(n):
    """Exactly n bytes of log lines. Every line is 80 bytes long: the line
    number (8 digits, from 00000001), a space, 70 bytes of text, then '\\n'.
    The last line is cut short to make the total exactly n bytes."""
    if n <= 0:
        return b""
    texts = _SYNTH_TEXT
    out = []
    append = out.append
    for i in range(1, n // 80 + 2):
        t = (texts[i & 3].replace(b"%d", b"%d" % i))[:70]
        append(b"%08d %s\n" % (i, t))
    return b"".join(out)[:n]


# --------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------

NAMES25 = [
    ("build:linux", "build", ["docker", "linux"]),
    ("build:macos", "build", ["macos", "saas-macos-medium-m1"]),
    ("build:windows", "build", ["windows"]),
    ("lint", "build", ["docker", "linux"]),
    ("typecheck", "build", ["docker", "linux"]),
    ("unit 1/8", "test", ["docker", "linux"]),
    ("unit 2/8", "test", ["docker", "linux"]),
    ("unit 3/8", "test", ["docker", "linux"]),
    ("unit 4/8", "test", ["docker", "linux"]),
    ("unit 5/8", "test", ["docker", "linux"]),
    ("unit 6/8", "test", ["docker", "linux"]),
    ("unit 7/8", "test", ["docker", "linux"]),
    ("unit 8/8", "test", ["docker", "linux"]),
    ("integration 1/4", "test", ["docker", "linux"]),
    ("integration 2/4", "test", ["docker", "linux"]),
    ("integration 3/4", "test", ["docker", "linux"]),
    ("integration 4/4", "test", ["docker", "linux"]),
    ("e2e:chrome", "test", ["docker", "linux"]),
    ("e2e:firefox", "test", ["docker", "linux"]),
    ("e2e:safari", "test", ["macos", "saas-macos-medium-m1"]),
    ("sast", "test", ["docker", "linux"]),
    ("dependency_scanning", "test", ["docker", "linux"]),
    ("package", "deploy", ["docker", "linux"]),
    ("deploy:staging", "deploy", ["docker", "linux"]),
    ("deploy:production", "deploy", ["docker", "linux"]),
]

# Project 6 (acme/platform/docs): (id, iid, ref, status, created_at, [(job id, name, status)]).
DOCS_PIPELINES = [
    (8997, 306, "release/1.2", "success", "2026-11-10T10:00:00.000Z", [(6001, "build-docs", "success"), (6002, "pages", "success"), (6003, "pdf", "success")]),
    (8998, 307, "release/1.2", "success", "2026-11-12T10:00:00.000Z", [(6004, "build-docs", "success"), (6005, "pages", "success")]),
    (8999, 308, "release/1.2", "failed", "2026-11-14T10:00:00.000Z", [(6006, "build-docs", "success"), (6007, "pages", "failed")]),
    (9000, 310, "main", "success", "2026-11-19T10:00:00.000Z", [(6008, "pages", "success"), (6009, "linkcheck", "success")]),
    (9001, 311, "main", "success", "2026-11-20T02:01:47.856Z", [(6010, "pages", "success"), (6011, "linkcheck", "success")]),
    (9002, 312, "main", "failed", "2026-11-20T06:00:00.000Z", [(6012, "pages", "success"), (6013, "linkcheck", "failed")]),
    (9003, 313, "main", "running", "2026-11-20T09:00:00.000Z", [(6014, "pages", "running"), (6015, "linkcheck", "pending")]),
]
# the project 6 jobs that have an archive: job id -> (ref, pipeline id, name)
DOCS_ARCHIVES = {jid: (ref, pid, name) for pid, _, ref, _, _, jobs in DOCS_PIPELINES
                 for jid, name, st in jobs if st == "success" and name != "linkcheck"}

MONO_REASONS = ["script_failure", "runner_system_failure", "stuck_or_timeout_failure",
                "api_failure", "job_execution_timeout", "unknown_failure"]


def monorepo_status(i):
    """Status and failure_reason of project 2 job number i (id 20001 + i)."""
    k = i % 25
    if i >= 325:  # pipeline 214, still running
        if k < 15:
            return "success", None
        if k < 18:
            return "running", None
        if k < 22:
            return "pending", None
        if k < 24:
            return "created", None
        return "manual", None
    if k == 24:
        return "manual", None
    if i % 13 == 6:
        return "failed", MONO_REASONS[(i // 13) % 6]
    if i % 41 == 17:
        return "canceled", None
    return "success", None


def huge_status(i):
    """Status of project 4 job number i (id 30001 + i)."""
    if i % 100 == 42:
        return "failed", "script_failure"
    return "success", None


def _sha(seed):
    import hashlib
    return hashlib.sha1(seed.encode()).hexdigest()


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.seed()

    # ---- seeding -------------------------------------------------------

    def seed(self):
        self.projects = {}
        self.path_index = {}
        self.pipelines = {}
        self.jobs = {}
        self._project_cache = {}
        self._pipeline_cache = {}
        self.job_tokens = {}
        # job list pages rendered once (scale.py), by project id
        self.pages = {}

        self._add_project(Project(1, "acme/platform/api", "Public API service",
                                  namespace_id=12, parent_id=10))
        self._add_project(Project(2, "acme/big/monorepo", "Everything, in one repository",
                                  namespace_id=14, parent_id=10))
        self._add_project(Project(3, "acme/platform/old-api", "Renamed to acme/platform/api",
                                  moved_to=1, namespace_id=12, parent_id=10))
        self._add_project(Project(4, "acme/huge/archive", "Ten thousand jobs",
                                  namespace_id=15, parent_id=10))
        self._add_project(Project(5, "other/secret", "Private to another user",
                                  visible=False, namespace_id=20))

        self._add_project(Project(6, "acme/platform/docs", "Documentation site",
                                  namespace_id=12, parent_id=10))
        self._seed_project1()
        self._seed_project6()
        self._seed_project2()
        self._seed_project4()
        self.next_id = max(self.jobs) + 1
        HugeJob.touched[0] = False

    def _add_project(self, p):
        self.projects[p.id] = p
        self.path_index[p.path.lower()] = p

    def _add_job(self, job):
        self.jobs[job.id] = job
        self._project_cache.pop(job.project_id, None)
        self._pipeline_cache.pop(job.pipeline_id, None)

    def _seed_project1(self):
        p102 = Pipeline(102, 56, 1, "v1.2.0", "f1a0b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3", "success",
                        parse_time("2026-11-17T09:12:05.481Z"), "Release v1.2.0", tag=True,
                        commit_created="2026-11-17T10:11:58.000+01:00")
        p101 = Pipeline(101, 57, 1, "main", "9d2f4a1c8e7b6053a1d4c7e2b9f80613d5a7c2e4", "running",
                        parse_time("2026-11-18T08:14:03.250Z"), "Add retry budget to job poller",
                        commit_created="2026-11-18T09:13:40.000+01:00")
        p102.updated_at = parse_time("2026-11-17T09:16:01.903Z")
        p101.updated_at = parse_time("2026-11-20T04:22:41.007Z")
        self.pipelines[101] = p101
        self.pipelines[102] = p102

        # Pipeline 102: tag v1.2.0, all success.
        base = p102.created_at
        for jid, name, stage, created_off, queued, dur in (
            (1001, "compile", "build", 0.051, 3.118, 74.205),
            (1002, "unit-tests", "test", 0.066, 81.402, 132.906),
            (1003, "release", "deploy", 0.080, 219.713, 12.331),
        ):
            created = base + created_off
            started = created + queued
            finished = started + dur
            log = log_simple(started, "linux",
                             [_shell(b"make " + name.encode()),
                              b"done: %s for v1.2.0\n" % name.encode()], OK_LINE)
            arts = []
            archive = seeded_archive(jid) if name == "compile" else None
            if archive:
                arts = archive_artifacts(archive, 186)
            self._add_job(Job(jid, 1, 102, name, stage, "success", ref="v1.2.0", tag=True,
                              tag_list=["docker", "linux"], created_at=created, started_at=started,
                              finished_at=finished, queued_duration=queued, artifacts=arts,
                              archive=archive, runner="linux", log=log))

        # Pipeline 101: main, one job per status (+ bridges).
        base = p101.created_at
        STEP = 7919.123  # created_at of consecutive jobs are ~2h12m apart

        def created_of(jid):
            return base + (jid - 1004) * STEP + 0.057

        def add(jid, name, stage, status, tags=("docker", "linux"), queued=None, dur=None,
                log=b"", reason=None, kind="build", **kw):
            created = created_of(jid)
            started = finished = None
            if queued is not None:
                started = created + queued
            if dur is not None and started is not None and status in FINISHED:
                finished = started + dur
            runner = kw.pop("runner", runner_key_for(tags) if started is not None and kind == "build" else None)
            if callable(log):
                log = log(started)
            job = Job(jid, 1, 101, name, stage, status, ref="main", tag=False, tag_list=list(tags),
                      kind=kind, created_at=created, started_at=started, finished_at=finished,
                      queued_duration=queued, failure_reason=reason, runner=runner, log=log, **kw)
            if status not in FINISHED and started is not None and dur is not None:
                job.duration = dur  # fixed duration for jobs still in progress
            if kind == "bridge":
                job.tag_list = []
            self._add_job(job)
            return job

        add(1004, "compile", "build", "failed", queued=2.871, dur=41.337, reason="runner_system_failure",
            retried=True,
            log=lambda t: log_simple(t, "linux", [
                b"\x1b[0;33mWARNING: Failed to pull image with policy \"always\": toomanyrequests\x1b[0;m\n"],
                b"\x1b[31;1mERROR: Job failed (system failure): Error response from daemon: "
                b"toomanyrequests: You have reached your pull rate limit\n\x1b[0;m\n", end_sections=False))
        add(1005, "lint", "build", "success", queued=1.904, dur=18.442, log=b"")
        add(1006, "windows-build", "build", "failed", tags=("windows",), queued=None, dur=None,
            reason="stuck_or_timeout_failure", log=b"")
        # stuck job: never started, finished by the stuck-jobs worker
        self.jobs[1006].finished_at = created_of(1006) + 3600.0
        add(1007, "docs", "build", "skipped")
        self.jobs[1007].finished_at = created_of(1007) + 0.5
        add(1008, "compile", "build", "success", queued=3.226, dur=74.004,
            log=log_compile_ansi,
            artifacts=archive_artifacts(seeded_archive(1008), 214), archive=seeded_archive(1008))
        add(1009, "unit-tests", "test", "failed", queued=4.518, dur=96.771, reason="script_failure",
            log=lambda t: log_simple(t, "linux", [
                _shell(b"busted --output=TAP spec/"),
                b"ok 1 - client builds urls\n",
                b"ok 2 - client encodes project paths\n",
                b"not ok 3 - parser handles nested arrays\n",
                b"# spec/parse_spec.lua:42: expected 3, got 4\n",
                b"1..3\n",
            ], FAIL_LINE),
            artifacts=[{"file_type": "junit", "size": 750, "filename": "junit.xml.gz", "file_format": "gzip"}])
        add(1010, "e2e", "test", "failed", queued=5.013, dur=12.118, reason="runner_system_failure",
            allow_failure=True,
            log=lambda t: log_simple(t, "linux", [],
                b"\x1b[31;1mERROR: Job failed (system failure): prepare environment: "
                b"exit status 1. Check https://docs.gitlab.com/runner/shells/ for more information\n\x1b[0;m\n",
                end_sections=False))
        add(1011, "flaky-spec", "test", "canceled", queued=2.337, dur=48.925,
            log=lambda t: log_simple(t, "linux", [
                _shell(b"./scripts/flaky.sh"),
                b"attempt 1/3 ... timeout\n",
                b"attempt 2/3 ...\n",
            ], None, end_sections=False))
        add(1012, "integration", "test", "running", queued=4.211, dur=143.52, token="job-token-running",
            log=lambda t: log_simple(t, "linux", [
                _shell(b"./scripts/run-integration.sh"),
            ] + [b"[%2d/40] test_case_%02d ... \x1b[32mok\x1b[0m\n" % (i, i) for i in range(1, 13)]
              + [b"[13/40] test_case_13 ... "],  # the last line is still being written
                None, end_sections=False))
        add(1013, "perf-tests", "test", "canceling", tags=("linux", "perf"), queued=6.402, dur=305.6,
            log=lambda t: log_simple(t, "linux", [
                _shell(b"./bench.sh --iterations 1000"),
                b"iteration 100/1000\riteration 200/1000\riteration 300/1000\r",
                b"\nReceived cancel request, running after_script...\n",
            ], None, end_sections=False))
        add(1014, "binary-output", "test", "success", queued=2.118, dur=7.554,
            log=lambda t: log_simple(t, "linux", [
                _shell(b"./tools/dump-fixture"),
                b"raw bytes follow:\n",
                b"\xff\xfe\x00garbage\x80\x81 after invalid bytes\n",
                b"latin-1 text: caf\xe9 na\xefve\n",
                b"truncated sequence: \xe2\x82\n",
            ], OK_LINE))
        add(1015, "debug-trace", "test", "success", queued=1.776, dur=22.031, trace_forbidden=True,
            log=lambda t: log_simple(t, "linux", [
                b"++ export CI_DEBUG_TRACE=true\n",
                b"++ CI_JOB_TOKEN=[MASKED]\n",
            ], OK_LINE))
        add(1016, "security-scan", "test", "pending", queued=None)
        add(1017, "coverage-report", "test", "preparing", queued=3.905,
            log=lambda t: _runner_header("linux") + _sec_start(t, "prepare_executor", PREPARE))
        self.jobs[1017].duration = 1.25
        add(1018, "dependency-scan", "test", "waiting_for_callback", tags=())
        add(1019, "deploy:production", "deploy", "created")
        add(1020, "deploy:review", "deploy", "waiting_for_resource")
        add(1021, "deploy:staging", "deploy", "manual", when="manual")
        add(1022, "deploy:canary", "deploy", "scheduled", when="delayed")
        # bridges
        b1 = add(1023, "trigger:docs", "deploy", "success", kind="bridge", queued=0.412, dur=240.0,
                 runner=None)
        b1.downstream = {
            "id": 9001,
            "iid": 311,
            "project_id": 6,
            "sha": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
            "ref": "main",
            "status": "success",
            "source": "pipeline",
            "created_at": b1.started_at + 0.8,
            "updated_at": b1.finished_at,
            "web_url": "/acme/platform/docs/-/pipelines/9001",
        }
        add(1024, "trigger:e2e-env", "deploy", "manual", kind="bridge", runner=None, when="manual")

        self.job_tokens["job-token-running"] = 1012

    def _seed_project6(self):
        """acme/platform/docs: pipelines on main and release/1.2 whose jobs have archives, so
        that "the latest successful pipeline of a ref" is a real choice."""
        for pid, iid, ref, status, created, jobs in DOCS_PIPELINES:
            created = parse_time(created)
            sha = "4b825dc642cb6eb9a060e54bf8d69288fbee4904" if pid == 9001 else _sha("docs-%d" % pid)
            pl = Pipeline(pid, iid, 6, ref, sha, status, created, "Docs change %d" % iid,
                          source="pipeline" if pid == 9001 else "push",
                          commit_created=fmt_time(float(int(created - 300)), 60))
            if pid == 9001:  # the downstream pipeline of bridge 1023
                pl.updated_at = self.jobs[1023].finished_at
            self.pipelines[pid] = pl
            for k, (jid, name, st) in enumerate(jobs):
                c = created + 0.05 + k * 0.013
                started = finished = queued = None
                if st not in ("pending", "created"):
                    queued = 2.5 + k
                    started = c + queued
                if st in FINISHED:
                    finished = started + 40.0 + 7 * k
                log = b""
                if started is not None:
                    end = OK_LINE if st == "success" else FAIL_LINE if st == "failed" else None
                    log = log_simple(started, "linux", [_shell(b"make " + name.encode()),
                                                        b"%s for %s\n" % (name.encode(), ref.encode())],
                                     end, end_sections=st in FINISHED)
                archive = seeded_archive(jid) if jid in DOCS_ARCHIVES else None
                job = Job(jid, 6, pid, name, "deploy" if name == "pages" else "build", st, ref=ref,
                          tag_list=["docker", "linux"], created_at=c, started_at=started, finished_at=finished,
                          queued_duration=queued, failure_reason="script_failure" if st == "failed" else None,
                          runner="linux" if started is not None else None, log=log,
                          artifacts=archive_artifacts(archive) if archive else None, archive=archive)
                if st == "running":
                    job.duration = 12.5
                self._add_job(job)

    def _seed_project2(self):
        base = parse_time("2026-11-06T07:30:00.000Z")
        for p in range(14):
            pid = 201 + p
            ref = "feature/cache" if pid in (207, 211) else "main"
            status = "running" if pid == 214 else (
                "failed" if any(monorepo_status(p * 25 + k)[0] == "failed" for k in range(25)) else "success")
            created = base + p * 86400.0 / 1.5  # one pipeline every 16 hours
            pl = Pipeline(pid, 900 + p, 2, ref, _sha("mono-%d" % pid), status, created,
                          "Monorepo change #%d" % (p + 1),
                          commit_created=fmt_time(float(int(created - 600)), 60))
            self.pipelines[pid] = pl
            for k in range(25):
                i = p * 25 + k
                jid = 20001 + i
                name, stage, tags = NAMES25[k]
                st, reason = monorepo_status(i)
                c = created + 0.05 + k * 0.011
                queued = started = finished = None
                if st not in ("created", "manual", "pending"):
                    queued = 2.0 + (i % 7) * 1.5
                    started = c + queued + (0 if stage == "build" else 300.0 if stage == "test" else 900.0)
                if st in FINISHED:
                    finished = started + 30.0 + (i * 37) % 400
                log = b""
                if started is not None:
                    lines = [_shell(b"make " + name.encode().replace(b" ", b"-")),
                             b"job %d of pipeline %d\n" % (jid, pid)]
                    end = OK_LINE if st == "success" else FAIL_LINE if st == "failed" else None
                    log = log_simple(started, runner_key_for(tags), lines, end, end_sections=st in FINISHED)
                job = Job(jid, 2, pid, name, stage, st, ref=ref, tag_list=tags, created_at=c,
                          started_at=started, finished_at=finished, queued_duration=queued,
                          failure_reason=reason, runner=runner_key_for(tags) if started else None,
                          log=log, when="manual" if k == 24 else "on_success")
                if st == "running":
                    job.duration = 61.5 + k
                self._add_job(job)

    def _seed_project4(self):
        kept = getattr(self, "_huge", None)
        if kept is not None and not HugeJob.touched[0]:
            # nothing of project 4 changed since it was made: reuse it (a reset
            # then takes milliseconds, not a tenth of a second)
            huge_pipelines, huge_jobs, ids = kept
            self.pipelines.update(huge_pipelines)
            self.jobs.update(huge_jobs)
            self._project_cache[4] = ids
            return
        self._make_project4()
        self.project_builds(4)  # fills the cache kept beside the jobs
        self._huge = ({pid: pl for pid, pl in self.pipelines.items() if pl.project_id == 4},
                      {jid: j for jid, j in self.jobs.items() if j.project_id == 4},
                      self._project_cache[4])

    def _make_project4(self):
        base = parse_time("2025-01-01T00:00:00.000Z")
        pipelines = self.pipelines
        jobs = self.jobs
        names = NAMES25
        for p in range(HUGE_COUNT // 25):
            pid = 3001 + p
            created = base + p * 3600.0
            pipelines[pid] = Pipeline(pid, 1 + p, 4, "main", _sha("huge-%d" % pid), "success",
                                      created, "Archive change %d" % (p + 1),
                                      commit_created="2025-01-01T00:00:00.000+01:00")
        for i in range(HUGE_COUNT):
            jid = HUGE_FIRST_ID + i
            name, stage, tags = names[i % 25]
            st, reason = huge_status(i)
            c = base + (i // 25) * 3600.0 + 0.05 + (i % 25) * 0.01
            s = c + 5.0
            jobs[jid] = HugeJob(jid, 4, 3001 + i // 25, name, stage, st, tag_list=tags, created_at=c,
                            started_at=s, finished_at=s + 60.0, queued_duration=5.0,
                            failure_reason=reason, runner="linux")
        for pid in range(3001, 3001 + HUGE_COUNT // 25):
            if any(huge_status((pid - 3001) * 25 + k)[0] == "failed" for k in range(25)):
                pipelines[pid].status = "failed"
        self._project_cache.pop(4, None)

    # ---- lookups -------------------------------------------------------

    def find_project(self, ident):
        """ident: decoded id segment. Returns Project or None (invisible = None)."""
        if ident.isdigit() and ident.isascii():
            p = self.projects.get(int(ident))
        elif "/" in ident:
            p = self.path_index.get(ident.lower())
        else:
            p = None
        if p is None or not p.visible:
            return None
        return p

    def _newest_first(self, cache, key, keep):
        """The jobs keep() selects, newest first; their ids are kept in cache[key]."""
        ids = cache.get(key)
        if ids is None:
            ids = sorted((j.id for j in self.jobs.values() if keep(j)), reverse=True)
            cache[key] = ids
        jobs = self.jobs
        return [jobs[i] for i in ids]

    def project_builds(self, project_id):
        return self._newest_first(self._project_cache, project_id,
                                  lambda j: j.project_id == project_id and j.kind == "build")

    def pipeline_jobs(self, pipeline_id):
        return self._newest_first(self._pipeline_cache, pipeline_id, lambda j: j.pipeline_id == pipeline_id)

    def job_for_token(self, token):
        jid = self.job_tokens.get(token)
        if jid is None:
            return None
        job = self.jobs.get(jid)
        if job is None or job.status not in TOKEN_LIVE:
            return None
        return job

    # ---- actions -------------------------------------------------------

    def set_status(self, job, status, now=None):
        now = time.time() if now is None else now
        job.status = status
        if status == "running":
            if job.started_at is None:
                job.started_at = now
                if job.queued_duration is None and job.created_at is not None:
                    job.queued_duration = round(max(0.0, now - job.created_at), 3)
            job.finished_at = None
            job.duration = None
            if job.runner is None and job.kind == "build":
                job.runner = runner_key_for(job.tag_list)
        elif status in FINISHED:
            if job.finished_at is None:
                job.finished_at = now
            job.duration = None
        if status == "failed":
            if not job.failure_reason:
                job.failure_reason = "script_failure"
        else:
            job.failure_reason = None

    def apply_step(self, job, step):
        if "set_log" in step:
            job.log = _to_bytes(step["set_log"])
        if "set_log_base64" in step:
            job.log = base64.b64decode(step["set_log_base64"])
        if "log_size" in step:
            job.log = synthetic_log(int(step["log_size"]))
        if "append_log" in step:
            job.log = job.log + _to_bytes(step["append_log"])
        if "append_log_base64" in step:
            job.log = job.log + base64.b64decode(step["append_log_base64"])
        if "status" in step:
            self.set_status(job, step["status"])
            job.pending_cancel = False
        if "failure_reason" in step:
            job.failure_reason = step["failure_reason"]
        if "retried" in step:
            job.retried = bool(step["retried"])
            self._pipeline_cache.pop(job.pipeline_id, None)
        if "fields" in step:
            # assigned, never changed in place: a write is what marks a kept page stale
            job.fields = dict(job.fields or {}, **step["fields"])
        if step.get("artifacts_remove"):
            self.remove_artifacts(job)
        if "artifacts_files" in step:
            self.set_archive(job, archives.files_archive(step["artifacts_files"]))
        if "artifacts_size" in step:
            self.set_archive(job, archives.synthetic_zip(step["artifacts_size"], job.id))

    def on_get(self, job):
        """Single-job GET: finish a pending cancel, then advance the script."""
        if job.pending_cancel:
            job.pending_cancel = False
            self.set_status(job, "canceled")
            return
        if job.steps:
            step = job.steps.pop(0)
            self.apply_step(job, step)

    def set_script(self, job, steps, retries):
        job.steps = copy.deepcopy(steps)
        job.lineage = Lineage(copy.deepcopy(retries)) if retries is not None else Lineage([])

    def cancel(self, job, to_canceling=False, force=False):
        if force:
            # GitLab's force_cancel moves canceling to canceled, and nothing else
            if job.status == "canceling":
                self.set_status(job, "canceled")
                job.pending_cancel = False
                job.steps = []
            return job
        if job.status in CANCELABLE:
            if job.status == "running" and to_canceling:
                job.status = "canceling"
                job.pending_cancel = True
            else:
                self.set_status(job, "canceled")
            job.steps = []
        return job

    def retryable(self, job):
        return job.status in RETRYABLE and not job.retried and not job.archived and job.kind == "build"

    def retry(self, job):
        now = time.time()
        new = Job(self.next_id, job.project_id, job.pipeline_id, job.name, job.stage, "pending",
                  ref=job.ref, tag=job.tag, tag_list=job.tag_list, kind=job.kind,
                  allow_failure=job.allow_failure, created_at=now, when=job.when)
        self.next_id += 1
        job.retried = True
        if job.lineage is not None:
            lin = job.lineage
            new.lineage = lin
            k = lin.count
            lin.count += 1
            new.steps = copy.deepcopy(lin.retries[k]) if k < len(lin.retries) else []
        self._add_job(new)
        self._pipeline_cache.pop(job.pipeline_id, None)
        return new

    def erasable(self, job):
        return job.kind == "build" and job.status in FINISHED and job.erased_at is None

    def erase(self, job):
        job.erased_at = time.time()
        job.log = b""
        job.artifacts = []
        job.archive = None
        job.artifacts_expire_at = None
        return job

    # ---- artifacts -----------------------------------------------------

    def set_archive(self, job, archive):
        """Give a job this archive (and its metadata), replacing any it had; a job that had
        none gets artifacts_expire_at 30 days after it finished (or from now)."""
        job.archive = archive
        rest = [a for a in job.artifacts if a["file_type"] not in ("archive", "metadata")]
        job.artifacts = archive_artifacts(archive) + rest
        if job.artifacts_expire_at is None:
            job.artifacts_expire_at = (job.finished_at or time.time()) + ARTIFACTS_LIFETIME

    def remove_artifacts(self, job):
        """Every artifact but the log's goes (artifacts_expire_at stays, as GitLab's
        DELETE .../artifacts leaves it)."""
        job.archive = None
        job.artifacts = []

    def keep_artifacts(self, job):
        job.artifacts_expire_at = None

    def latest_successful_build(self, project_id, ref, name):
        """The job of that name with an archive in the newest successful pipeline of ref (not
        an older one, even when the newest lacks it), as GitLab finds it; or None."""
        newest = None
        for pl in self.pipelines.values():
            if pl.project_id == project_id and pl.ref == ref and pl.status == "success":
                if newest is None or pl.id > newest.id:
                    newest = pl
        if newest is None:
            return None
        for job in self.pipeline_jobs(newest.id):
            if job.kind == "build" and job.name == name and not job.retried and job.archive is not None:
                return job
        return None

    def delete_project_artifacts(self, project_id, keep_latest=True):
        """DELETE /projects/:id/artifacts: removes the artifacts of every job of the project,
        except (keep_latest) those of pipelines no newer successful pipeline of their ref has
        followed: GitLab keeps them locked. Returns how many jobs lost artifacts."""
        newest_success = {}
        for pl in self.pipelines.values():
            if pl.project_id == project_id and pl.status == "success":
                newest_success[pl.ref] = max(newest_success.get(pl.ref, 0), pl.id)
        n = 0
        for job in self.project_builds(project_id):
            pl = self.pipelines[job.pipeline_id]
            locked = keep_latest and pl.id >= newest_success.get(pl.ref, 0)
            if not locked and (job.archive is not None or job.artifacts):
                self.remove_artifacts(job)
                n += 1
        return n

    def play(self, job, variables):
        job.status = "pending"
        job.variables = variables
        job.pending_cancel = False
        job.failure_reason = None
        return job

    # ---- rendering -----------------------------------------------------

    def render(self, job, base, offset=0):
        """A build or a bridge as the API renders it, keys in GitLab's order. Bridges
        have no archived, source, artifacts*, tag_list, runner*; their pipeline is the
        longer form, and they end with downstream_pipeline."""
        bridge = job.kind == "bridge"
        pl = self.pipelines[job.pipeline_id]
        proj = self.projects[job.project_id]
        d = {"commit": commit_json(pl, proj, base), "coverage": job.coverage}
        if not bridge:
            d["archived"] = job.archived
            d["source"] = pl.source
        d["allow_failure"] = job.allow_failure
        for k in ("created_at", "started_at", "finished_at", "erased_at"):
            d[k] = fmt_time(getattr(job, k), offset)
        d["duration"], d["queued_duration"] = durations(job)
        if not bridge:
            d.update(artifacts_json(job, offset))
            d["tag_list"] = list(job.tag_list)
        d["id"] = job.id
        d["name"] = job.name
        if bridge:
            d["pipeline"] = self.pipeline_basic(pl, base, offset)
        else:
            d["pipeline"] = {"id": pl.id, "project_id": pl.project_id, "ref": pl.ref, "sha": pl.sha,
                             "status": pl.status}
        d["ref"] = job.ref
        if not bridge:
            d["runner"] = dict(RUNNERS[job.runner]) if job.runner else None
            d["runner_manager"] = dict(RUNNER_MANAGERS[job.runner]) if job.runner else None
        d["stage"] = job.stage
        d["status"] = job.status
        if job.status == "failed":
            d["failure_reason"] = job.failure_reason or "unknown_failure"
        d.update({
            "tag": job.tag,
            "web_url": "%s/%s/-/jobs/%d" % (base, proj.path, job.id),
            "project": {"ci_job_token_scope_enabled": False},
            "user": user_json(base),
        })
        if bridge:
            d["downstream_pipeline"] = downstream_json(job, base, offset)
        if job.fields:
            d.update(copy.deepcopy(job.fields))
        return d

    def pipeline_basic(self, pl, base, offset=0):
        proj = self.projects[pl.project_id]
        return {
            "id": pl.id,
            "iid": pl.iid,
            "project_id": pl.project_id,
            "sha": pl.sha,
            "ref": pl.ref,
            "status": pl.status,
            "source": pl.source,
            "created_at": fmt_time(pl.created_at, offset),
            "updated_at": fmt_time(pl.updated_at, offset),
            "web_url": "%s/%s/-/pipelines/%d" % (base, proj.path, pl.id),
        }

    def render_project(self, p, base):
        parts = p.path.split("/")
        ns_path = "/".join(parts[:-1])
        return {
            "id": p.id,
            "description": p.description,
            "name": p.name,
            "name_with_namespace": " / ".join(parts),
            "path": p.name,
            "path_with_namespace": p.path,
            "created_at": p.created_at,
            "default_branch": "main",
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": "git@gitlab.example.com:%s.git" % p.path,
            "http_url_to_repo": "%s/%s.git" % (base, p.path),
            "web_url": "%s/%s" % (base, p.path),
            "readme_url": "%s/%s/-/blob/main/README.md" % (base, p.path),
            "forks_count": 0,
            "avatar_url": None,
            "star_count": 0,
            "last_activity_at": "2026-11-20T09:58:00.000Z",
            "namespace": {
                "id": p.namespace_id,
                "name": parts[-2],
                "path": parts[-2],
                "kind": "group",
                "full_path": ns_path,
                "parent_id": p.parent_id,
                "avatar_url": None,
                "web_url": "%s/groups/%s" % (base, ns_path),
            },
            "visibility": "private",
            "archived": False,
            "empty_repo": False,
            "jobs_enabled": True,
            "builds_access_level": "enabled",
            "ci_config_path": None,
            "shared_runners_enabled": True,
        }

    def render_pipeline(self, pl, base, offset=0):
        d = self.pipeline_basic(pl, base, offset)
        d.update({
            "before_sha": "0000000000000000000000000000000000000000",
            "tag": pl.tag,
            "yaml_errors": None,
            "user": user_json(base),
            "started_at": fmt_time(pl.created_at + 2.0, offset),
            "finished_at": fmt_time(pl.updated_at, offset) if pl.status in FINISHED else None,
            "committed_at": None,
            "duration": None,
            "queued_duration": 0.9,
            "coverage": None,
            "detailed_status": {
                "icon": "status_" + pl.status,
                "text": pl.status,
                "label": pl.status,
                "group": pl.status,
                "tooltip": pl.status,
                "has_details": True,
                "details_path": "/%s/-/pipelines/%d" % (self.projects[pl.project_id].path, pl.id),
                "illustration": None,
                "favicon": "/assets/ci_favicons/favicon_status_%s.png" % pl.status,
            },
        })
        return d

    def allowed_agents(self, job, base, offset=0):
        proj = self.projects[job.project_id]
        pl = self.pipelines[job.pipeline_id]
        parts = proj.path.split("/")
        proj_basic = {
            "id": proj.id,
            "description": proj.description,
            "name": proj.name,
            "name_with_namespace": " / ".join(parts),
            "path": proj.name,
            "path_with_namespace": proj.path,
            "created_at": proj.created_at,
        }
        u = user_json(base)
        return {
            "allowed_agents": [
                {"id": 1, "config_project": dict(proj_basic)},
                {"id": 4, "config_project": {
                    "id": 7,
                    "description": "Cluster agent configuration",
                    "name": "agents",
                    "name_with_namespace": "acme / platform / agents",
                    "path": "agents",
                    "path_with_namespace": "acme/platform/agents",
                    "created_at": "2025-05-06T11:00:00.000Z",
                }},
            ],
            "job": {
                "id": job.id,
                "name": job.name,
                "stage": job.stage,
                "project_id": proj.id,
                "project_name": proj.name,
            },
            "pipeline": {
                "id": pl.id,
                "project_id": pl.project_id,
                "sha": pl.sha,
                "ref": pl.ref,
                "status": pl.status,
                "created_at": fmt_time(pl.created_at, offset),
                "updated_at": fmt_time(pl.updated_at, offset),
                "web_url": "%s/%s/-/pipelines/%d" % (base, proj.path, pl.id),
            },
            "project": proj_basic,
            "user": {k: u[k] for k in ("id", "name", "username", "state", "avatar_url", "web_url")},
        }

    def internal_view(self, job, base):
        return {
            "job": self.render(job, base),
            "kind": job.kind,
            "project_id": job.project_id,
            "pipeline_id": job.pipeline_id,
            "retried": job.retried,
            "variables": copy.deepcopy(job.variables),
            "log_size": len(job.log),
            "steps_remaining": len(job.steps or []),
            "pending_cancel": job.pending_cancel,
            "token": job.token,
        }


def durations(job):
    """(duration, queued_duration): the recorded ones, else live from the clock."""
    now = time.time()
    if job.duration is not None:
        duration = job.duration
    elif job.started_at is None:
        duration = None
    else:
        duration = round((job.finished_at or now) - job.started_at, 3)
    queued = job.queued_duration
    if queued is None and job.status == "pending" and job.created_at is not None:
        queued = round(max(0.0, now - job.created_at), 3)
    return duration, queued


def commit_json(pl, proj, base):
    return {
        "author_email": pl.author_email,
        "author_name": pl.author_name,
        "created_at": pl.commit_created,
        "id": pl.sha,
        "message": pl.title + "\n",
        "short_id": pl.sha[:8],
        "title": pl.title,
        "trailers": {},
        "extended_trailers": {},
        "committed_date": pl.commit_created,
        "committer_email": pl.author_email,
        "committer_name": pl.author_name,
        "authored_date": pl.commit_created,
        "parent_ids": [],
        "web_url": "%s/%s/-/commit/%s" % (base, proj.path, pl.sha),
    }


_SEEDED_ARCHIVES = {}


def seeded_archive(job_id):
    """The seeded archive of a job (made once per process: a reset hands out the same one)."""
    if job_id not in _SEEDED_ARCHIVES:
        if job_id == 1001:
            _SEEDED_ARCHIVES[job_id] = archives.archive_1001()
        elif job_id == 1008:
            _SEEDED_ARCHIVES[job_id] = archives.archive_1008()
        else:
            ref, pid, name = DOCS_ARCHIVES[job_id]
            _SEEDED_ARCHIVES[job_id] = archives.archive_docs(job_id, ref, pid, name)
    return _SEEDED_ARCHIVES[job_id]


def archive_artifacts(archive, metadata_size=None):
    """A job's artifacts list for an archive: the archive and its metadata, as the runner uploads."""
    if metadata_size is None:
        metadata_size = archives.metadata_size(archive)
    return [
        {"file_type": "archive", "size": archive.size, "filename": archives.ARCHIVE_NAME, "file_format": "zip"},
        {"file_type": "metadata", "size": metadata_size, "filename": "metadata.gz", "file_format": "gzip"},
    ]


def artifacts_json(job, offset):
    """A build's artifacts_file (only with an archive), artifacts (with the log's trace once
    finished) and artifacts_expire_at."""
    d = {}
    if job.archive is not None:
        d["artifacts_file"] = {"filename": archives.ARCHIVE_NAME, "size": job.archive.size}
    arts = list(job.artifacts)
    if job.status in FINISHED and job.log and job.erased_at is None:
        arts.append({"file_type": "trace", "size": len(job.log), "filename": "job.log", "file_format": "raw"})
    d["artifacts"] = arts
    d["artifacts_expire_at"] = fmt_time(job.artifacts_expire_at, offset)
    return d


def downstream_json(job, base, offset):
    if job.downstream is None:
        return None
    ds = dict(job.downstream)
    ds["created_at"] = fmt_time(ds["created_at"], offset)
    ds["updated_at"] = fmt_time(ds["updated_at"], offset)
    ds["web_url"] = base + ds["web_url"]
    return ds


def _to_bytes(v):
    if isinstance(v, bytes):
        return v
    return str(v).encode("utf-8")


def validate_step(step, where="step"):
    """Return an error string, or None when the step is acceptable."""
    if not isinstance(step, dict):
        return "%s must be an object" % where
    bad = sorted(set(step) - STEP_KEYS)
    if bad:
        return "%s: unknown key(s) %s (known: %s)" % (where, ", ".join(bad), ", ".join(sorted(STEP_KEYS)))
    if "status" in step and step["status"] not in STATUSES:
        return "%s: status must be one of %s" % (where, ", ".join(STATUSES))
    if "fields" in step and not isinstance(step["fields"], dict):
        return "%s: fields must be an object" % where
    if "log_size" in step:
        v = step["log_size"]
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            return "%s: log_size must be a non-negative integer" % where
    if "artifacts_size" in step:
        v = step["artifacts_size"]
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= archives.MAX_SYNTHETIC:
            return "%s: artifacts_size must be an integer from 0 to %d" % (where, archives.MAX_SYNTHETIC)
    if "artifacts_files" in step:
        files = step["artifacts_files"]
        if not isinstance(files, dict) or not all(
                isinstance(k, str) and k and not k.startswith("/") and "\0" not in k and isinstance(v, str)
                for k, v in files.items()):
            return "%s: artifacts_files must be {\"path/in/archive\": \"text\", ...}" % where
    if "artifacts_remove" in step and not isinstance(step["artifacts_remove"], bool):
        return "%s: artifacts_remove must be a boolean" % where
    for k in ("set_log_base64", "append_log_base64"):
        if k in step:
            try:
                base64.b64decode(step[k], validate=True)
            except Exception:
                return "%s: %s is not valid base64" % (where, k)
    for k in ("set_log", "append_log", "failure_reason"):
        if k in step and not isinstance(step[k], str):
            return "%s: %s must be a string" % (where, k)
    return None
