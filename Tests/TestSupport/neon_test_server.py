"""A small Neon API (v2) for the tests: the endpoints gwi-fleet calls, as Neon documents them
(https://api-docs.neon.tech/reference/getting-started-with-neon-api), backed by real data.

Every branch is a real PostgreSQL cluster recovered with pgBackRest from the test's archived
cluster at the branch's parent_timestamp (or at the end of the archive for a branch at head),
listening on its own loopback address (127.0.0.N) at the archived cluster's port, as a Neon
endpoint listens on its own host at 5432. The bearer token and the request bodies are checked;
every request is logged (method, path, body, whether the token was right) as a JSON line.

Usage: neon_test_server.py PORT STATE_DIR CONFIG.json
CONFIG: api_key, project_id, history_retention_seconds, main_created_at, stanza,
        pgbackrest_config, bin_dir, pg_port
STATE_DIR/control.json (optional, read for each new branch): {"fail_operations": true} makes the
operations of new branches end "failed"; {"delay_seconds": N} keeps them running N seconds longer;
{"fail_delete": true} answers every DELETE with a 500; {"hang_up_after_create": true} makes the
branch and closes the connection without answering.
"""
import datetime, http.server, json, os, re, shutil, socket, subprocess, sys, threading, time, uuid

PORT, STATE, CONFIG = int(sys.argv[1]), sys.argv[2], json.load(open(sys.argv[3]))
LOCK = threading.Lock()
BRANCHES, ENDPOINTS, OPERATIONS = {}, {}, {}
MAIN_ID = "br-main-" + uuid.uuid4().hex[:8]
BRANCHES[MAIN_ID] = {"id": MAIN_ID, "project_id": CONFIG["project_id"], "name": "main", "default": True, "primary": True,
                     "created_at": CONFIG["main_created_at"], "current_state": "ready"}


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    text = text.replace("Z", "+00:00")
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no zone")
    return moment


def as_postgres(arguments, **kwargs):
    if os.getuid() == 0:
        arguments = ["/usr/sbin/runuser", "-u", "postgres", "--", "/usr/bin/env", "-C", "/"] + arguments
    return subprocess.run(arguments, capture_output=True, text=True, **kwargs)


CLAIMS = os.path.join("/tmp", "gwi-neon-addresses-%d" % CONFIG["pg_port"])


def free_address():
    """A loopback address no other branch (of this or another test server) uses at the cluster's
    port: claimed by a file made with O_EXCL (a claim of a server that is gone is taken over)."""
    os.makedirs(CLAIMS, exist_ok=True)
    for n in range(2, 250):
        host = "127.0.0.%d" % n
        claim = os.path.join(CLAIMS, host)
        try:
            descriptor = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                owner = int(open(claim).read() or "0")
                os.kill(owner, 0)
                continue
            except (ValueError, ProcessLookupError, FileNotFoundError):
                try:
                    os.unlink(claim)
                except FileNotFoundError:
                    pass
                continue
        os.write(descriptor, str(os.getpid()).encode())
        os.close(descriptor)
        probe = socket.socket()
        try:
            probe.bind((host, CONFIG["pg_port"]))
            return host
        except OSError:
            continue
        finally:
            probe.close()
    raise RuntimeError("no free loopback address")


def release_address(host):
    try:
        os.unlink(os.path.join(CLAIMS, host))
    except FileNotFoundError:
        pass


def read_control():
    path = os.path.join(STATE, "control.json")
    return json.load(open(path)) if os.path.exists(path) else {}


def make_cluster(branch, endpoint, operations):
    """Recovers the archived cluster at the branch's moment into a directory of its own and
    starts it on the endpoint's address; ends the operations finished (or failed)."""
    directory = os.path.join(STATE, "branches", branch["id"])
    error = None
    try:
        control = read_control()
        if control.get("fail_operations"):
            raise RuntimeError("injected failure: the compute did not start")
        deadline = time.time() + control.get("delay_seconds", 0)
        while time.time() < deadline and branch["id"] in BRANCHES:
            time.sleep(0.1)
        if branch["id"] not in BRANCHES:
            raise RuntimeError("the branch was deleted while it was being made")
        os.makedirs(directory, mode=0o700)
        if os.getuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
        target = ["--type=default"]
        if branch.get("parent_timestamp"):
            moment = parse_time(branch["parent_timestamp"]).astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00")
            target = ["--type=time", "--target=" + moment, "--target-action=promote"]
        restore = as_postgres(["pgbackrest", "--config=" + CONFIG["pgbackrest_config"], "--stanza=" + CONFIG["stanza"],
                               "--pg1-path=" + directory, "--archive-mode=off", "--log-level-console=warn"] + target + ["restore"])
        if restore.returncode != 0:
            raise RuntimeError("pgbackrest restore: " + restore.stderr + restore.stdout)
        with open(os.path.join(directory, "postgresql.auto.conf"), "a") as conf:
            conf.write("\nport = %d\nlisten_addresses = '%s'\nunix_socket_directories = '%s'\narchive_mode = off\nhot_standby = on\n"
                       "log_statement = 'ddl'\n" % (CONFIG["pg_port"], endpoint["host"], directory))
        # As on Neon, an endpoint takes the role's password over TCP (the socket stays trusted).
        hba = os.path.join(directory, "pg_hba.conf")
        lines = open(hba).read()
        with open(hba, "w") as conf:
            conf.write("host all all 127.0.0.0/8 scram-sha-256\n" + lines)
        start = as_postgres([CONFIG["bin_dir"] + "/pg_ctl", "-D", directory, "-l", directory + "/server.log", "-w", "-t", "120", "start"])
        if start.returncode != 0:
            raise RuntimeError("pg_ctl start: " + start.stderr + start.stdout + open(directory + "/server.log").read()[-2000:])
        deadline = time.time() + 120
        while True:
            probe = as_postgres([CONFIG["bin_dir"] + "/psql", "-X", "-At", "-h", directory, "-p", str(CONFIG["pg_port"]), "-U", "postgres",
                                 "-d", "postgres", "-c", "SELECT pg_is_in_recovery()"])
            if probe.returncode == 0 and probe.stdout.strip() == "f":
                break
            if time.time() > deadline:
                raise RuntimeError("the branch's cluster did not finish recovery: " + probe.stderr)
            time.sleep(0.1)
    except Exception as failure:  # the operation fails, as Neon reports it
        error = str(failure)
        with open(os.path.join(STATE, "errors.log"), "a") as log:
            log.write(branch["name"] + ": " + error + "\n")
    with LOCK:
        for operation in operations:
            operation["status"] = "failed" if error else "finished"
            operation["error"] = error
            operation["updated_at"] = now_text()
        branch["current_state"] = "ready" if not error else "init"
        endpoint["current_state"] = "active" if not error else "init"
        deleted = branch["id"] not in BRANCHES
    if deleted:  # deleted while it was being made: nothing of it may stay
        remove_cluster(branch["id"], branch["name"])


def remove_cluster(branch_id, name):
    """Stops and removes a branch's cluster, keeping its server log (deleted/NAME.log)."""
    directory = os.path.join(STATE, "branches", branch_id)
    if os.path.exists(os.path.join(directory, "postmaster.pid")):
        as_postgres([CONFIG["bin_dir"] + "/pg_ctl", "-D", directory, "-m", "fast", "-w", "stop"])
    if os.path.exists(os.path.join(directory, "server.log")):
        os.makedirs(os.path.join(STATE, "deleted"), exist_ok=True)
        shutil.copy(os.path.join(directory, "server.log"), os.path.join(STATE, "deleted", name + ".log"))
    shutil.rmtree(directory, ignore_errors=True)


BRANCH_KEYS = {"name", "parent_id", "parent_lsn", "parent_timestamp", "protected", "archived", "init_source"}
ENDPOINT_KEYS = {"type", "autoscaling_limit_min_cu", "autoscaling_limit_max_cu", "provisioner", "suspend_timeout_seconds"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def problem(self, status, message):
        self.answer(status, {"code": "", "message": message})

    def handle_request(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        if len(raw.encode()) < length:  # the body never came whole: like any HTTP server, refuse it
            with open(os.path.join(STATE, "requests.jsonl"), "a") as log:
                log.write(json.dumps({"method": self.command, "path": self.path, "body": raw, "truncated": True}) + "\n")
            return self.problem(400, "the request body is shorter than its Content-Length")
        authorized = self.headers.get("Authorization") == "Bearer " + CONFIG["api_key"]
        with open(os.path.join(STATE, "requests.jsonl"), "a") as log:
            log.write(json.dumps({"method": self.command, "path": self.path, "body": raw, "authorized": authorized}) + "\n")
        if self.path.startswith("/redirect/"):  # a misconfigured api_url: somewhere else
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:%d/%s" % (PORT, self.path[len("/redirect/"):]))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not authorized:
            return self.problem(401, "authentication failed")
        prefix = "/api/v2/projects/" + CONFIG["project_id"]
        path = self.path.split("?")[0]
        if not path.startswith("/api/v2/projects/"):
            return self.problem(404, "not found")
        if not (path == prefix or path.startswith(prefix + "/")):
            return self.problem(404, "project not found")
        rest = path[len(prefix):]
        if self.command == "GET" and rest == "":
            return self.answer(200, {"project": {"id": CONFIG["project_id"], "name": "venues", "pg_version": 16,
                                                 "history_retention_seconds": CONFIG["history_retention_seconds"],
                                                 "created_at": CONFIG["main_created_at"]}})
        if self.command == "GET" and rest == "/branches":
            with LOCK:
                return self.answer(200, {"branches": list(BRANCHES.values())})
        if self.command == "POST" and rest == "/branches":
            if read_control().get("hang_up_after_create"):  # made, but the answer never comes
                self.create_branch(raw, answer=False)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            return self.create_branch(raw)
        match = re.fullmatch(r"/branches/([^/]+)", rest)
        if self.command == "DELETE" and match:
            if read_control().get("fail_delete"):
                return self.problem(500, "injected failure: could not delete the branch")
            with LOCK:
                branch = BRANCHES.get(match.group(1))
                if branch is None:
                    return self.problem(404, "branch not found")
                if branch.get("default"):
                    return self.problem(422, "cannot delete the default branch")
                del BRANCHES[branch["id"]]
                hosts = []
                for endpoint_id in [e for e, endpoint in ENDPOINTS.items() if endpoint["branch_id"] == branch["id"]]:
                    hosts.append(ENDPOINTS.pop(endpoint_id)["host"])
            remove_cluster(branch["id"], branch["name"])
            for host in hosts:
                release_address(host)
            operation = {"id": str(uuid.uuid4()), "project_id": CONFIG["project_id"], "branch_id": branch["id"],
                         "action": "delete_timeline", "status": "finished", "created_at": now_text()}
            return self.answer(200, {"branch": branch, "operations": [operation]})
        match = re.fullmatch(r"/operations/([^/]+)", rest)
        if self.command == "GET" and match:
            with LOCK:
                operation = OPERATIONS.get(match.group(1))
                if operation is None:
                    return self.problem(404, "operation not found")
                return self.answer(200, {"operation": dict(operation)})
        match = re.fullmatch(r"/endpoints/([^/]+)", rest)
        if self.command == "GET" and match:
            with LOCK:
                endpoint = ENDPOINTS.get(match.group(1))
                if endpoint is None:
                    return self.problem(404, "endpoint not found")
                return self.answer(200, {"endpoint": dict(endpoint)})
        return self.problem(404, "not found")

    def create_branch(self, raw, answer=True):
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self.problem(400, "request body is not JSON")
        if set(body) - {"branch", "endpoints", "annotation_value"}:
            return self.problem(400, "unknown fields: %s" % sorted(set(body) - {"branch", "endpoints", "annotation_value"}))
        spec = body.get("branch", {})
        if not isinstance(spec, dict) or set(spec) - BRANCH_KEYS:
            return self.problem(400, "branch: unknown fields")
        endpoints = body.get("endpoints", [])
        if not isinstance(endpoints, list) or any(not isinstance(e, dict) or set(e) - ENDPOINT_KEYS
                                                  or e.get("type") not in ("read_only", "read_write") for e in endpoints):
            return self.problem(400, "endpoints: each needs type read_only or read_write")
        if sum(1 for e in endpoints if e["type"] == "read_write") > 1:
            return self.problem(400, "a branch has at most one read_write endpoint")
        name = spec.get("name") or "br-" + uuid.uuid4().hex[:8]
        if not (1 <= len(name) <= 256):
            return self.problem(400, "branch name must be 1 to 256 characters")
        parent = spec.get("parent_id") or MAIN_ID
        with LOCK:
            if parent not in BRANCHES:
                return self.problem(404, "parent branch not found")
            if any(b["name"] == name for b in BRANCHES.values()):
                return self.problem(409, "branch name already exists")
        if "parent_timestamp" in spec:
            try:
                moment = parse_time(spec["parent_timestamp"])
            except ValueError:
                return self.problem(400, "parent_timestamp must be ISO 8601 with a zone")
            now = datetime.datetime.now(datetime.timezone.utc)
            earliest = max(now - datetime.timedelta(seconds=CONFIG["history_retention_seconds"]),
                           parse_time(CONFIG["main_created_at"]))
            if moment > now:
                return self.problem(400, "parent_timestamp is in the future")
            if moment < earliest:
                return self.problem(400, "parent_timestamp is before the project's history retention")
        branch_id = "br-" + uuid.uuid4().hex[:12]
        branch = {"id": branch_id, "project_id": CONFIG["project_id"], "parent_id": parent, "name": name, "default": False,
                  "primary": False, "current_state": "init", "created_at": now_text()}
        if "parent_timestamp" in spec:
            branch["parent_timestamp"] = spec["parent_timestamp"]
        created_endpoints, operations = [], []
        operation = {"id": str(uuid.uuid4()), "project_id": CONFIG["project_id"], "branch_id": branch_id, "action": "create_timeline",
                     "status": "running", "failures_count": 0, "created_at": now_text(), "updated_at": now_text()}
        operations.append(operation)
        for spec_endpoint in endpoints:
            endpoint = {"id": "ep-" + uuid.uuid4().hex[:12], "host": free_address(), "project_id": CONFIG["project_id"],
                        "branch_id": branch_id, "type": spec_endpoint["type"], "current_state": "init", "created_at": now_text()}
            created_endpoints.append(endpoint)
            operations.append({"id": str(uuid.uuid4()), "project_id": CONFIG["project_id"], "branch_id": branch_id,
                               "endpoint_id": endpoint["id"], "action": "start_compute", "status": "running",
                               "failures_count": 0, "created_at": now_text(), "updated_at": now_text()})
        with LOCK:
            BRANCHES[branch_id] = branch
            for endpoint in created_endpoints:
                ENDPOINTS[endpoint["id"]] = endpoint
            for operation in operations:
                OPERATIONS[operation["id"]] = operation
        if created_endpoints:
            threading.Thread(target=make_cluster, args=(branch, created_endpoints[0], operations), daemon=True).start()
        else:
            with LOCK:
                for operation in operations:
                    operation["status"] = "finished"
        if not answer:
            return
        self.answer(201, {"branch": branch, "endpoints": created_endpoints, "operations": [dict(o) for o in operations],
                          "roles": [], "databases": [], "connection_uris": []})

    do_GET = handle_request
    do_POST = handle_request
    do_DELETE = handle_request

    def log_message(self, *args):
        pass


os.makedirs(os.path.join(STATE, "branches"), exist_ok=True)
http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
