#!/usr/bin/env python3
"""The soak harness's logic (entry point and summary: scripts/soak).

Key decisions:
- Real parts, real wiring: the host is `tr-intake up --embedded off` on the repository's spin.toml (only the wasm
  paths, the rules folder and the triggers' literal queue URLs rewritten, as a deployment does), pointed through
  the same Spin variables a deployment sets at a separate `tr-embedded-aws serve` process, so the endpoint can be
  killed on its own. The queues, bucket and bucket notification are made once by a short `tr-intake up` in
  embedded mode (the only way to create the notification), whose state folder the standalone endpoint then serves.
- Every submission carries a unique marker (`soak-f00012`: lane letter + number) in its subject, so the store's
  message list (`tr-intake tickets ID --json`, whose messages keep their subjects) and the fake model's per-marker call
  counts (the model sees `Subject: …`) can be matched to what was sent without reading the store behind the CLI.
- A submission is acknowledged when its lane said so (form 202, chat 200/201, S3 PutObject 200). Clients retry
  5xx, 429 and connection failures with the same idempotency key (same nonce, same conversation, same bytes),
  with capped backoff, for a bounded time; one that gives up is reported, and may be in the store at most once.
- The consumed queues' visibility timeout is lowered (10 s; 3 s short) before the host starts, so a throttled
  read comes back within the run; redrive is still after 5 receives, so dead-lettering happens and is replayed.
"""
import argparse
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from email.utils import format_datetime
from datetime import datetime, timezone

import boto3
from botocore.config import Config as BotoConfig

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MARKER = r"soak-[a-z]\d{5}"
RAW_QUEUE_IN_MANIFEST = "http://localhost:5000/123456789012/tr-raw-mail-events"
TICKET_QUEUE_IN_MANIFEST = "http://localhost:5000/123456789012/tr-tickets"
ORIGIN = "https://shop.soak.example"
SITE_KEY = "soak-site-key"
CHAT_SECRET = "soak-chat-secret-0123456789"

PROFILES = {
    # load seconds, submissions at most, per second, client workers, endpoint kill at/down, host kills at,
    # visibility timeout, client retry budget, drain budget
    "long": dict(load=600, max_submissions=2400, rate=3.0, workers=8, endpoint_kill=(150, 60), host_kills=(330, 480),
                 visibility=10, retry_budget=180, drain=420),
    "short": dict(load=35, max_submissions=140, rate=3.0, workers=6, endpoint_kill=(6, 10), host_kills=(22,),
                  visibility=3, retry_budget=45, drain=90),
}

# What customers write about: (subject, body). Words vary per submission so that only real duplicates merge.
ISSUES = [
    ("Charged twice for my subscription", "My card was charged twice for the {plan} plan this month, order {order}. Please refund the second charge."),
    ("Cannot log in after password reset", "Since resetting my password yesterday the login page says my credentials are wrong. I tried {n} times from {device}."),
    ("CSV export button does nothing", "On the reports page the CSV export button does nothing since {day}. Nothing downloads in {device}."),
    ("Where is my parcel", "Order {order} was supposed to arrive on {day} but tracking has not moved for {n} days."),
    ("Please cancel my account", "I would like to cancel the {plan} plan at the end of this billing period and delete my data."),
    ("API returns 500 on upload", "Our integration gets HTTP 500 from the upload endpoint about {n} times an hour since {day}."),
    ("Invoice shows the wrong company name", "The invoice for order {order} names our old company; we need it reissued for the {plan} plan."),
    ("Two factor codes never arrive", "The SMS with the login code never arrives on my phone; I waited {n} minutes on {day}."),
    ("Dashboard is very slow", "The dashboard takes {n} seconds to load every chart since {day}, on {device}."),
    ("Refund not received yet", "You confirmed a refund for order {order} on {day} but it has not reached my account."),
    ("Wrong size delivered", "I ordered a large jacket in order {order} and received a small one. How do I exchange it?"),
    ("Discount code rejected at checkout", "The code from your newsletter is rejected for the {plan} plan; the page says it expired on {day}."),
]
PLANS = ["team", "starter", "business", "family"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the weekend"]
DEVICES = ["Firefox", "Chrome on Windows", "Safari on an iPad", "the Android app"]
FIRST = ["Dana", "Ali", "Mei", "Jonas", "Priya", "Tomás", "Chloe", "Kwame", "Ines", "Oskar", "Yuki", "Sara", "Liam", "Noor", "Eva"]
LAST = ["Whitfield", "Haddad", "Chen", "Berg", "Nair", "Silva", "Martin", "Mensah", "Costa", "Lund", "Sato", "Novak"]

KINDS = [  # (kind, weight)
    ("form", 25), ("chat", 15), ("email", 20), ("email-reply", 12), ("duplicate", 12), ("resend", 10), ("chat-extend", 6),
]


def log(*parts):
    print(f"[soak {time.strftime('%H:%M:%S')}]", *parts, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now_iso(offset=0):
    return datetime.fromtimestamp(time.time() + offset, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Proc:
    """One child process we started (and only those are ever signalled), its output appended to a log file."""

    def __init__(self, name, argv, env, log_path, ready=None):
        self.name, self.argv, self.env, self.log_path, self.ready = name, argv, env, log_path, ready
        self.p = None

    def start(self, timeout=120):
        out = open(self.log_path, "ab")
        out.write(f"\n==== start {time.strftime('%H:%M:%S')}: {' '.join(self.argv)}\n".encode())
        out.flush()
        start_offset = out.tell()
        self.p = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                  start_new_session=True)
        out.close()
        if self.ready is None:
            return
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(start_offset)
                if self.ready.encode() in f.read():
                    return
            if self.p.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.p.returncode} before it was ready; see {self.log_path}")
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout} s; see {self.log_path}")

    def signal(self, sig):
        if self.p is not None and self.p.poll() is None:
            os.kill(self.p.pid, sig)

    def kill(self):
        self.signal(signal.SIGKILL)
        if self.p is not None:
            self.p.wait()

    def stop(self):
        self.signal(signal.SIGINT)
        if self.p is not None:
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class Submission:
    def __init__(self, n, kind, lane, customer, marker):
        self.n, self.kind, self.lane, self.customer, self.marker = n, kind, lane, customer, marker
        self.acked = False
        self.gave_up = False
        self.attempts = 0
        self.statuses = []
        self.refused = None  # an answer no retry can change: a harness or lane bug
        self.original = None  # resend: the submission whose exact request is sent again
        # Lane payloads
        self.form = None
        self.chat = None  # transcript dict
        self.raw = None  # email bytes
        self.message_id = None
        self.subject_words = None
        self.body_text = None


class Soak:
    def __init__(self, args):
        self.args = args
        self.profile = dict(PROFILES["short" if args.short else "long"])
        self.rng = random.Random(args.seed)
        self.target = os.path.abspath(args.target)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.dir = os.path.abspath(args.dir or os.path.join(self.target, "soak", f"{'short' if args.short else 'long'}-{stamp}"))
        os.makedirs(self.dir, exist_ok=True)
        self.tr_intake = os.path.join(self.target, args.profile, "tr-intake")
        self.embedded_bin = os.path.join(self.target, args.profile, "tr-embedded-aws")
        self.manifest = os.path.join(self.dir, "spin.toml")
        self.lock = threading.Lock()
        self.subs = []
        self.acked_by_lane = {"form": [], "chat": [], "email": []}
        self.faults = {"endpoint_kills": 0, "endpoint_down_seconds": 0, "host_kills": 0}
        self.next_slot = 0.0
        self.procs = []
        self.customers = [self.make_customer(i) for i in range(60)]

    # ---------------------------------------------------------------- setup

    def make_customer(self, i):
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        ascii_first = first.replace("á", "a").replace("ó", "o")
        return {"name": f"{first} {last}", "email": f"{ascii_first.lower()}.{last.lower()}{i}@customer{i % 7}.example"}

    def write_manifest(self, queues=None):
        text = open(os.path.join(REPO, "spin.toml")).read()
        wasm = os.path.join(self.target, "wasm32-wasip2", "release")
        for literal in [RAW_QUEUE_IN_MANIFEST, TICKET_QUEUE_IN_MANIFEST, "target/wasm32-wasip2/release/", 'source = "rules"']:
            if literal not in text:
                sys.exit(f"spin.toml no longer holds `{literal}`: update scripts/soak.py")
        text = text.replace("target/wasm32-wasip2/release/", wasm + "/").replace(
            'source = "rules"', f'source = "{os.path.join(REPO, "rules")}"')
        if queues:
            text = text.replace(RAW_QUEUE_IN_MANIFEST, queues["tr-raw-mail-events"]).replace(
                TICKET_QUEUE_IN_MANIFEST, queues["tr-tickets"])
        with open(self.manifest, "w") as f:
            f.write(text)

    def setup(self):
        p = self.profile
        self.host_port, self.aws_port = free_port(), free_port()
        self.write_manifest()
        # 1. Queues, bucket and notification, made by `up` itself in embedded mode on an application with no
        #    components (nothing to compile), in the same state folder, then stopped.
        bootstrap = os.path.join(self.dir, "bootstrap.toml")
        with open(bootstrap, "w") as f:
            f.write('spin_manifest_version = 2\n\n[application]\nname = "soak-bootstrap"\n')
        boot = Proc("bootstrap up", [self.tr_intake, "up", "-f", bootstrap, "--embedded", "on",
                                     "--listen", f"127.0.0.1:{self.host_port}", "--aws-listen", f"127.0.0.1:{self.aws_port}"],
                    self.base_env(), os.path.join(self.dir, "bootstrap.log"), ready="  state: ")
        self.procs.append(boot)
        boot.start()
        boot.stop()
        self.procs.remove(boot)
        state = json.load(open(os.path.join(self.dir, ".spin", "local-aws.json")))
        self.state = state
        self.queues = state["queues"]
        self.write_manifest(self.queues)
        # 2. The endpoint as its own process, on the same port and state folder.
        env = self.base_env()
        env.update(TR_EMBEDDED_ACCESS_KEY_ID=state["access_key_id"], TR_EMBEDDED_SECRET_ACCESS_KEY=state["secret_access_key"])
        self.endpoint = Proc("tr-embedded-aws", [self.embedded_bin, "serve", "--dir", os.path.join(self.dir, ".spin", "aws"),
                                                 "--port", str(self.aws_port), "--region", state["region"]],
                             env, os.path.join(self.dir, "embedded-aws.log"), ready="listening on")
        self.endpoint.start()
        self.procs.append(self.endpoint)
        self.sqs = self.boto("sqs")
        for q in ["tr-raw-mail-events", "tr-tickets"]:
            self.sqs.set_queue_attributes(QueueUrl=self.queues[q], Attributes={"VisibilityTimeout": str(p["visibility"])})
        # 3. The fake model.
        port_file = os.path.join(self.dir, "bedrock.port")
        env = self.base_env()
        env.update(TR_MOTO_ACCESS_KEY_ID=state["access_key_id"], TR_MOTO_SECRET_ACCESS_KEY=state["secret_access_key"])
        self.bedrock_port = free_port()
        self.bedrock = Proc("fake bedrock", [sys.executable, os.path.join(REPO, "tests/tools/fake_bedrock.py"), port_file,
                                             "--port", str(self.bedrock_port), "--throttle", "0.5", "--fail", "0.05",
                                             "--seed", str(self.args.seed), "--count-marker", MARKER],
                            env, os.path.join(self.dir, "bedrock.log"))
        self.bedrock.start()
        self.procs.append(self.bedrock)
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        # 4. The host, wired to both as a deployment is.
        s = state
        env = self.base_env()
        env.update({
            "AWS_ACCESS_KEY_ID": s["access_key_id"], "AWS_SECRET_ACCESS_KEY": s["secret_access_key"],
            "AWS_REGION": s["region"], "AWS_ENDPOINT_URL_SQS": s["endpoint"], "AWS_EC2_METADATA_DISABLED": "true",
            "SPIN_VARIABLE_AWS_REGION": s["region"],
            "SPIN_VARIABLE_AWS_ACCESS_KEY_ID": s["access_key_id"], "SPIN_VARIABLE_AWS_SECRET_ACCESS_KEY": s["secret_access_key"],
            "SPIN_VARIABLE_SQS_ENDPOINT": s["endpoint"], "SPIN_VARIABLE_S3_ENDPOINT": s["endpoint"],
            "SPIN_VARIABLE_S3_PATH_STYLE": "true",
            "SPIN_VARIABLE_TICKET_QUEUE_URL": self.queues["tr-tickets"],
            "SPIN_VARIABLE_READ_QUEUE_URL": self.queues["tr-read-tickets"],
            "SPIN_VARIABLE_READER": "bedrock", "SPIN_VARIABLE_BEDROCK_ENDPOINT": f"http://127.0.0.1:{self.bedrock_port}",
            "SPIN_VARIABLE_FORM_SITE_KEY": SITE_KEY, "SPIN_VARIABLE_FORM_ALLOWED_ORIGINS": ORIGIN,
            "SPIN_VARIABLE_FORM_RATE_LIMIT": "1000000/60", "SPIN_VARIABLE_CHAT_SECRET": CHAT_SECRET,
            # Mail goes straight into the bucket, with no SES in front to write verdicts (as `up`'s own defaults
            # say): replies must thread, so concurrent appends to one ticket are exercised.
            "SPIN_VARIABLE_EMAIL_SENDER_VERIFICATION": "off",
        })
        self.host = Proc("tr-intake up", [self.tr_intake, "up", "-f", self.manifest, "--embedded", "off",
                                          "--listen", f"127.0.0.1:{self.host_port}"],
                         env, os.path.join(self.dir, "host.log"), ready="listening on")
        self.host.start()
        self.procs.append(self.host)
        log(f"run folder {self.dir}: host :{self.host_port}, endpoint :{self.aws_port}, fake Bedrock :{self.bedrock_port}")

    def base_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SPIN_VARIABLE_", "TR_MOTO_", "TR_EMBEDDED_"))}
        return env

    def boto(self, service):
        s = self.state
        return boto3.client(service, endpoint_url=s["endpoint"], region_name=s["region"], aws_access_key_id=s["access_key_id"],
                            aws_secret_access_key=s["secret_access_key"],
                            config=BotoConfig(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                                              s3={"addressing_style": "path"}))

    # ---------------------------------------------------------------- submissions

    def words(self):
        subject, body = self.rng.choice(ISSUES)
        body = body.format(plan=self.rng.choice(PLANS), order=f"A-{self.rng.randint(10000, 99999)}",
                           n=self.rng.randint(2, 40), day=self.rng.choice(DAYS), device=self.rng.choice(DEVICES))
        return subject, body

    def new_submission(self, n):
        with self.lock:
            kind = self.rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
            acked = {lane: list(v) for lane, v in self.acked_by_lane.items()}
            customer = self.rng.choice(self.customers)
            subject, body = self.words()
            rnd = random.Random(self.rng.random())
        # Kinds that need an earlier acknowledged submission fall back to a new one when there is none yet.
        if kind == "email-reply" and not acked["email"]:
            kind = "email"
        if kind == "chat-extend" and not acked["chat"]:
            kind = "chat"
        if kind in ("duplicate", "resend") and not any(acked.values()):
            kind = "form"
        if kind == "resend":
            original = rnd.choice([s for v in acked.values() for s in v])
            sub = Submission(n, kind, original.lane, original.customer, original.marker)
            sub.original = original
            return sub
        if kind == "duplicate":
            original = rnd.choice([s for v in acked.values() for s in v if s.kind != "resend"])
            lane, customer = original.lane, original.customer
            subject, body = original.subject_words, original.body_text
        elif kind == "email-reply":
            original = rnd.choice(acked["email"])
            lane, customer = "email", original.customer
            subject = "Re: " + original.subject_words
            body = rnd.choice(["Thanks, any update on this?", "Still not fixed, I tried again this morning.",
                               "Here is the screenshot you asked for.", "It happened again today."])
        elif kind == "chat-extend":
            original = rnd.choice(acked["chat"])
            lane, customer = "chat", original.customer
        else:
            lane, original = kind, None
        marker = f"soak-{lane[0]}{n:05d}"
        sub = Submission(n, kind, lane, customer, marker)
        sub.subject_words, sub.body_text = subject, body
        full_subject = f"{subject} (ref {marker})"
        if lane == "form":
            sub.form = {"site_key": SITE_KEY, "nonce": uuid.UUID(int=rnd.getrandbits(128)).hex, "name": customer["name"],
                        "email": customer["email"], "subject": full_subject, "message": body,
                        "page_url": "https://shop.soak.example/help", "referrer": "", "website": "", "fill_ms": 9000 + n}
        elif lane == "chat":
            if kind == "chat-extend":
                transcript = json.loads(json.dumps(original.chat))
                transcript["subject"] = full_subject
                transcript["ended_at"] = now_iso()
                transcript["messages"].append({"role": "visitor", "text": f"One more thing: {body}", "time": now_iso()})
            else:
                transcript = {"conversation_id": f"conv-{marker}", "subject": full_subject,
                              "visitor": {"name": customer["name"], "email": customer["email"]},
                              "page_url": "https://shop.soak.example/help", "started_at": now_iso(-120), "ended_at": now_iso(),
                              "resolved": False, "messages": [
                                  {"role": "bot", "text": "Hi! How can I help you today?", "time": now_iso(-120)},
                                  {"role": "visitor", "text": body, "time": now_iso(-110)},
                                  {"role": "agent", "name": "Maria", "text": "Let me check that for you.", "time": now_iso(-60)},
                              ]}
            sub.chat = transcript
        else:
            sub.message_id = f"<{marker}.{rnd.getrandbits(32):08x}@{customer['email'].split('@')[1]}>"
            headers = [f"From: {customer['name']} <{customer['email']}>", "To: support@soak.example",
                       f"Subject: {full_subject}", f"Date: {format_datetime(datetime.now(timezone.utc))}",
                       f"Message-ID: {sub.message_id}", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
            text = body
            if kind == "email-reply":
                headers += [f"In-Reply-To: {original.message_id}", f"References: {original.message_id}"]
                quoted = "\n".join("> " + line for line in original.body_text.splitlines())
                text = f"{body}\n\nOn Mon, 1 Dec 2026 at 10:00, {customer['name']} <{customer['email']}> wrote:\n{quoted}\n"
            sub.raw = ("\r\n".join(headers) + "\r\n\r\n" + text.replace("\n", "\r\n") + "\r\n").encode()
        return sub

    # ---------------------------------------------------------------- sending

    def post(self, path, headers, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.host_port, timeout=40)
        try:
            conn.request("POST", path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def attempt(self, sub, s3):
        """One try of `sub`'s request: (acknowledged, retryable, what happened)."""
        request = sub.original or sub
        if sub.lane == "form":
            status, text = self.post("/form", {"content-type": "application/json", "accept": "application/json",
                                               "origin": ORIGIN}, json.dumps(request.form).encode())
            return status == 202 and '"received"' in text, status >= 500 or status == 429, f"{status} {text[:120]}"
        if sub.lane == "chat":
            body = json.dumps(request.chat).encode()
            t = int(time.time())
            mac = hmac.new(CHAT_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
            status, text = self.post("/chat", {"content-type": "application/json", "x-tr-signature": f"t={t},v1={mac}"}, body)
            return status in (200, 201), status >= 500 or status == 429, f"{status} {text[:120]}"
        key = f"inbound/{int(time.time() * 1000)}-{uuid.uuid4().hex[:12]}-{sub.marker}.eml"
        try:
            s3.put_object(Bucket=self.state["bucket"], Key=key, Body=request.raw)
            return True, False, "200 put"
        except Exception as e:  # noqa: BLE001 - any failure of the PUT is a retry, as the SDK's own retry would
            code = getattr(e, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            return False, code == 0 or code >= 500 or code == 429, f"{code} {type(e).__name__}"

    def send(self, sub, s3):
        start = time.time()
        delay = 0.25
        while True:
            sub.attempts += 1
            try:
                acked, retryable, what = self.attempt(sub, s3)
            except (OSError, http.client.HTTPException) as e:
                acked, retryable, what = False, True, f"connection: {type(e).__name__}"
            sub.statuses.append(what)
            if acked:
                sub.acked = True
                return
            if not retryable:
                sub.refused = what
                return
            if time.time() - start > self.profile["retry_budget"]:
                sub.gave_up = True
                return
            time.sleep(delay * (0.5 + self.rng.random()))
            delay = min(delay * 2, 4.0)

    def worker(self, stop_at):
        s3 = self.boto("s3")
        interval = 1.0 / self.profile["rate"]
        while True:
            with self.lock:
                now = time.time()
                if now >= stop_at or len(self.subs) >= self.profile["max_submissions"]:
                    return
                slot = max(now, self.next_slot)
                self.next_slot = slot + interval
                n = len(self.subs) + 1
                self.subs.append(None)
            time.sleep(max(0.0, slot - time.time()))
            sub = self.new_submission(n)
            with self.lock:
                self.subs[n - 1] = sub
            self.send(sub, s3)
            if sub.acked and sub.kind != "resend":
                with self.lock:
                    self.acked_by_lane[sub.lane].append(sub)

    # ---------------------------------------------------------------- faults

    def faults_thread(self, t0):
        p = self.profile
        at, down = p["endpoint_kill"]
        events = [(at, "endpoint")] + [(t, "host") for t in p["host_kills"]]
        for when, what in sorted(events):
            time.sleep(max(0.0, t0 + when - time.time()))
            if what == "endpoint":
                log(f"fault: SIGKILL tr-embedded-aws, down for {down} s")
                self.endpoint.kill()
                self.faults["endpoint_kills"] += 1
                time.sleep(down)
                self.endpoint.start()
                self.faults["endpoint_down_seconds"] += down
                log("fault: tr-embedded-aws restarted on its state folder")
            else:
                log("fault: SIGKILL tr-intake up, restart")
                self.host.kill()
                self.faults["host_kills"] += 1
                self.host.start()
                log("fault: host restarted")

    def run_load(self):
        p = self.profile
        t0 = time.time()
        stop_at = t0 + p["load"]
        faults = threading.Thread(target=self.faults_thread, args=(t0,), daemon=True)
        faults.start()
        workers = [threading.Thread(target=self.worker, args=(stop_at,), daemon=True) for _ in range(p["workers"])]
        for w in workers:
            w.start()
        last = 0
        while any(w.is_alive() for w in workers):
            time.sleep(1)
            if time.time() - last >= 30:
                last = time.time()
                done = [s for s in self.subs if s is not None]
                log(f"load: {len(done)} submissions, {sum(s.acked for s in done)} acknowledged")
        faults.join()
        self.load_seconds = time.time() - t0

    # ---------------------------------------------------------------- drain and replay

    def depth(self, name):
        a = self.sqs.get_queue_attributes(QueueUrl=self.queues[name], AttributeNames=["All"])["Attributes"]
        return sum(int(a.get(k, 0)) for k in ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                                "ApproximateNumberOfMessagesDelayed"])

    def cli(self, *args):
        return subprocess.run([self.tr_intake, *args, "-f", self.manifest], capture_output=True, text=True, cwd=REPO,
                              env=self.base_env())

    def drain(self):
        deadline = time.time() + self.profile["drain"]
        self.replayed = {}
        self.drained = False
        quiet = 0
        while time.time() < deadline:
            busy = self.depth("tr-raw-mail-events") + self.depth("tr-tickets")
            quiet = quiet + 1 if busy == 0 else 0
            if quiet < 2:
                time.sleep(1)
                continue
            moved = 0
            for dlq in ["tr-raw-mail-events-dlq", "tr-tickets-dlq"]:
                if self.depth(dlq) == 0:
                    continue
                r = self.cli("replay", dlq)
                if r.returncode != 0:
                    raise RuntimeError(f"tr-intake replay {dlq} failed: {r.stderr}")
                n = int(re.search(r"moved (\d+) messages", r.stdout).group(1))
                log(f"replay: {r.stdout.strip()}")
                self.replayed[dlq] = self.replayed.get(dlq, 0) + n
                moved += n
            if moved == 0:
                self.drained = True
                return
            quiet = 0

    # ---------------------------------------------------------------- checks

    def store(self):
        r = self.cli("tickets")
        if r.returncode != 0:
            raise RuntimeError(f"tr-intake tickets failed: {r.stderr}")
        ids = [line.split()[0] for line in r.stdout.splitlines() if re.match(r"^[0-9A-Z]{26}\s", line)]
        records = []
        for tid in ids:
            r = self.cli("tickets", tid, "--json")
            if r.returncode != 0:
                raise RuntimeError(f"tr-intake tickets {tid} failed: {r.stderr}")
            records.append(json.loads(r.stdout))
        return records

    def read_queue(self):
        events = []
        empty = 0
        while empty < 3:
            out = self.sqs.receive_message(QueueUrl=self.queues["tr-read-tickets"], MaxNumberOfMessages=10,
                                           VisibilityTimeout=900, WaitTimeSeconds=1)
            batch = out.get("Messages", [])
            empty = empty + 1 if not batch else 0
            events.extend(json.loads(m["Body"]) for m in batch)
        return events

    def check(self):
        violations = []
        subs = [s for s in self.subs if s is not None]
        counts = json.loads(urlopen_text(f"http://127.0.0.1:{self.bedrock_port}/counts"))
        records = self.store()
        events = self.read_queue()
        depths = {q: self.depth(q) for q in self.queues}

        # Every acknowledged submission: exactly one ticket or one append.
        where = {}  # marker -> [(ticket id, position)]
        keys = {}
        for rec in records:
            for i, m in enumerate(rec["messages"]):
                found = re.search(MARKER, m["subject"])
                where.setdefault(found.group(0) if found else f"(no marker: {m['subject'][:40]})", []).append((rec["ticket"]["id"], i))
                keys.setdefault(m["key"], []).append(rec["ticket"]["id"])
        sent = {s.marker: s for s in subs if s.kind != "resend"}
        acked = [s for s in subs if s.acked and s.kind != "resend"]
        lost = [s for s in acked if len(where.get(s.marker, [])) == 0]
        doubled = [s for s in subs if s.kind != "resend" and len(where.get(s.marker, [])) > 1]
        # Where each marker reached the router: a message missing from the store's records may still have been
        # delivered (a record overwritten by a concurrent append), which is a different failure from a lost one.
        routed = {}
        for e in events:
            subject = e["ticket"]["subject"] if "ticket" in e else e.get("append", {}).get("message", {}).get("subject", "")
            found = re.search(MARKER, subject)
            if found:
                routed.setdefault(found.group(0), []).append(e["ticket"]["id"] if "ticket" in e else e["append"]["ticket_id"])
        for s in lost:
            if s.marker in routed:
                violations.append(f"missing from the store's ticket record: {s.marker} ({s.kind}, {s.lane}, acknowledged) is listed by "
                                  f"no ticket, yet reached the read queue for ticket(s) {sorted(set(routed[s.marker]))} "
                                  f"(a concurrent append overwrote the record: no compare-and-swap)")
            else:
                violations.append(f"lost: {s.marker} ({s.kind}, {s.lane}, acknowledged after {s.attempts} attempts: {s.statuses[-3:]}) "
                                  f"is in no ticket and never reached the read queue")
        for s in doubled:
            tickets = sorted({tid for tid, _ in where[s.marker]})
            why = " (two tickets: the store's documented no-CAS race between concurrent copies of one key)" if len(tickets) > 1 else ""
            violations.append(f"double intake: {s.marker} ({s.kind}, {s.lane}) is in {where[s.marker]}{why}")
        for marker in where:
            if marker not in sent:
                violations.append(f"the store holds a message nobody sent: {marker} at {where[marker]}")
        for key, tickets in keys.items():
            if len(tickets) > 1:
                violations.append(f"idempotency key {key} is listed {len(tickets)} times: {tickets}")
        for s in subs:
            if s.refused:
                violations.append(f"refused: {s.marker} ({s.kind}, {s.lane}) answered {s.refused}")
        unacked_in_store = [s for s in subs if not s.acked and s.kind != "resend" and where.get(s.marker)]

        # Every ticket: read once, by exactly one successful model call. Calls are counted by the marker of the
        # ticket's first message; a double intake (above) makes two tickets with one marker, each owed one call.
        by_marker = counts["by_marker"]
        tickets_by_marker = {}
        double_read, unread = [], []
        for rec in records:
            t = rec["ticket"]
            found = re.search(MARKER, rec["messages"][0]["subject"]) if rec["messages"] else None
            marker = found.group(0) if found else None
            creator = sent.get(marker)
            if t.get("reading") is None:
                if creator is not None and not creator.acked:
                    continue  # its client gave up before the lane said yes; a retry would complete it
                unread.append(t["id"])
                violations.append(f"unread: ticket {t['id']} ({marker}) has no reading")
                continue
            tickets_by_marker.setdefault(marker, []).append(t["id"])
        for marker, tids in tickets_by_marker.items():
            ok = by_marker.get(marker, {}).get("ok", 0)
            if ok > len(tids):
                double_read.extend(tids)
                violations.append(f"double read: {len(tids)} ticket(s) {tids} ({marker}) got {ok} successful model calls: {by_marker.get(marker)}")
            elif ok < len(tids):
                violations.append(f"{len(tids)} read ticket(s) {tids} ({marker}) but only {ok} successful model call(s)")
        for marker, c in by_marker.items():
            if c["ok"] and marker not in tickets_by_marker:
                violations.append(f"{c['ok']} successful model call(s) for {marker}, which is no read ticket's first message")

        # The read queue: every ticket and every append, copies only of the same event id, readings as stored.
        seen_tickets, seen_appends = {}, {}
        for e in events:
            if "ticket" in e:
                t = e["ticket"]
                seen_tickets.setdefault(t["id"], []).append(t.get("reading"))
            elif e.get("event") == "append":
                seen_appends.setdefault(e["append"]["message"]["id"], []).append(e["append"]["ticket_id"])
            else:
                violations.append(f"read queue: a message that is neither a ticket nor an append: {json.dumps(e)[:200]}")
        stored = {rec["ticket"]["id"]: rec for rec in records}
        appended = {m["id"]: rec["ticket"]["id"] for rec in records for m in rec["messages"][1:]}
        for tid, rec in stored.items():
            if rec["ticket"].get("reading") is None:
                continue
            readings = seen_tickets.get(tid)
            if not readings:
                violations.append(f"read queue: ticket {tid} never arrived")
            elif any(r != rec["ticket"]["reading"] for r in readings):
                violations.append(f"read queue: ticket {tid}'s reading {readings} differs from the store's {rec['ticket']['reading']}")
        for tid in seen_tickets:
            if tid not in stored:
                violations.append(f"read queue: ticket {tid} is not in the store")
        for mid, tid in appended.items():
            if stored[tid]["ticket"].get("reading") is None:
                continue
            if mid not in seen_appends:
                violations.append(f"read queue: append {mid} (ticket {tid}) never arrived")
            elif any(x != tid for x in seen_appends[mid]):
                violations.append(f"read queue: append {mid} names ticket {set(seen_appends[mid])}, the store {tid}")
        for mid in seen_appends:
            if mid not in appended:
                violations.append(f"read queue: append {mid} (ticket {seen_appends[mid][0]}) is not listed by its stored ticket")
        router_duplicates = sum(len(v) - 1 for v in seen_tickets.values()) + sum(len(v) - 1 for v in seen_appends.values())

        # Queues drained, dead-letter queues empty after replay.
        for q in ["tr-raw-mail-events", "tr-tickets", "tr-raw-mail-events-dlq", "tr-tickets-dlq"]:
            if depths[q]:
                violations.append(f"queue {q} still holds {depths[q]} messages after draining and replay")
        if not self.drained:
            violations.append(f"the pipeline did not drain within {self.profile['drain']} s")

        totals = counts["totals"]
        figures = {
            "submissions": len(subs),
            "by_kind": {k: sum(s.kind == k for s in subs) for k, _ in KINDS},
            "acknowledged": sum(s.acked for s in subs),
            "gave_up": sum(s.gave_up for s in subs),
            "client_retries": sum(s.attempts - 1 for s in subs),
            "unacknowledged_but_stored": len(unacked_in_store),
            "tickets": len(records),
            "appends": sum(len(r["messages"]) - 1 for r in records),
            "appends_by_reason": {reason: sum(m["reason"] == reason for r in records for m in r["merges"])
                                  for reason in sorted({m["reason"] for r in records for m in r["merges"]})},
            "model_calls_ok": totals["ok"],
            "model_throttled_429": totals["throttled"],
            "model_failed_500": totals["failed"],
            "endpoint_kills": self.faults["endpoint_kills"],
            "endpoint_down_seconds": self.faults["endpoint_down_seconds"],
            "host_kills": self.faults["host_kills"],
            "dlq_replayed": self.replayed,
            "read_queue_messages": len(events),
            "router_duplicates": router_duplicates,
            "lost": sum(s.marker not in routed for s in lost),
            "missing_from_record": sum(s.marker in routed for s in lost),
            "double_read": len(double_read),
            "double_intake": len(doubled),
            "unread": len(unread),
            "load_seconds": round(self.load_seconds),
            "violations": len(violations),
        }
        return figures, violations


def urlopen_text(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True, help="the cargo target folder holding PROFILE/ and wasm32-wasip2/release/")
    ap.add_argument("--profile", default="release", choices=["release", "debug"], help="which build of the binaries runs")
    ap.add_argument("--short", action="store_true", help="35 s of load, the endpoint down 10 s, one host kill")
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--dir", help="run folder (default TARGET/soak/<profile>-<time>)")
    ap.add_argument("--keep", action="store_true", help="keep the run folder even when every check passes")
    args = ap.parse_args()
    started = time.time()
    soak = Soak(args)
    status = 2
    try:
        soak.setup()
        p = soak.profile
        log(f"{'short' if args.short else 'long'} run: {p['load']} s of load at {p['rate']}/s (at most {p['max_submissions']}), "
            f"endpoint killed at {p['endpoint_kill'][0]} s for {p['endpoint_kill'][1]} s, host killed at {list(p['host_kills'])} s, "
            f"model throttles 50% and fails 5%")
        soak.run_load()
        log("load done; draining and replaying dead-letter queues")
        soak.drain()
        soak.host.stop()
        figures, violations = soak.check()
        figures["wall_seconds"] = round(time.time() - started)
        print(json.dumps(figures, indent=2))
        with open(os.path.join(soak.dir, "summary.json"), "w") as f:
            json.dump({"figures": figures, "violations": violations}, f, indent=2)
        if violations:
            print(f"\nVIOLATIONS ({len(violations)}):", file=sys.stderr)
            for v in violations[:200]:
                print("  " + v, file=sys.stderr)
            print(f"run folder kept: {soak.dir}", file=sys.stderr)
            status = 1
        else:
            log(f"OK: every acknowledged submission is exactly one ticket or append, every ticket read once, "
                f"the read queue and the store agree, dead-letter queues empty ({figures['wall_seconds']} s)")
            status = 0
    finally:
        for proc in reversed(soak.procs):
            proc.stop()
        if status == 0 and not args.keep:
            subprocess.run(["rm", "-rf", soak.dir])
        elif status == 2:
            print(f"soak harness failed; run folder kept: {soak.dir}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
