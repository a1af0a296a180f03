#!/usr/bin/env python3
"""A protocol-faithful stand-in for Bedrock runtime's InvokeModel, for the read component's tests.

The model itself cannot run here, so this fake answers with scripted cases — but everything around the answer is
real: it verifies each request's SigV4 signature (service `bedrock`) by recomputing it with botocore's own signer
(an implementation independent of ours), refuses a bad one as Bedrock does (403 InvalidSignatureException), and
answers in the Anthropic Messages response shape Bedrock returns, with AWS error bodies and x-amzn-ErrorType.
The read request must use structured output (`output_config.format` with a json_schema, no `tools`/`tool_choice`,
issue #9): anything else is refused with a 400 ValidationException, so a regression to forced tool use fails the
test. That refusal is this fake's guard, not Bedrock's rule (Bedrock accepts tools); the error shape is Bedrock's. Answers come back as Bedrock returns structured output: one `text` block whose text is the JSON object.

The case is chosen by a marker in the ticket text: `case=valid`, `case=unknown-topic`, `case=non-json`,
`case=throttle-once`, `case=bad-request` (no marker: valid). Every call is recorded; GET /calls returns them.

Fault injection (for `scripts/soak`): `--throttle P` answers a fraction P of valid, signed calls with Bedrock's
429 ThrottlingException and `--fail P` a further fraction P with a 500 InternalServerException, chosen at random
(`--seed N` repeats a run). `--count-marker REGEX` counts calls by the first match of REGEX in the ticket text
(subject and body as the model sees them): GET /counts returns {marker: {"ok", "throttled", "failed"}} and the
totals, so a harness can tell how many successful model calls each ticket got. With a marker the request bodies
are not kept (GET /calls then lists cases and attempts only), so a long run stays small.

usage: fake_bedrock.py PORT_FILE [--port N] [--throttle P] [--fail P] [--seed N] [--count-marker REGEX]
       (binds 127.0.0.1 on port N, default a free one, and writes the port to PORT_FILE)
Credentials come from TR_MOTO_ACCESS_KEY_ID / TR_MOTO_SECRET_ACCESS_KEY (the tests sign with moto's user).
"""
import argparse
import hashlib
import json
import os
import random
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = os.environ["TR_MOTO_ACCESS_KEY_ID"]
SECRET_KEY = os.environ["TR_MOTO_SECRET_ACCESS_KEY"]
AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")

calls = []
seen = {}
lock = threading.Lock()
# Fault injection and per-marker counts (scripts/soak); all off by default.
faults = {"throttle": 0.0, "fail": 0.0, "rng": random.Random(), "marker": None}
counts = {}
totals = {"ok": 0, "throttled": 0, "failed": 0}


def count(marker, outcome):
    """Called with `lock` held."""
    totals[outcome] += 1
    if marker is not None:
        counts.setdefault(marker, {"ok": 0, "throttled": 0, "failed": 0})[outcome] += 1


def expected_signature(handler, body, region, signed_headers, amz_date):
    host = handler.headers["Host"]
    request = AWSRequest(method=handler.command, url=f"http://{host}{handler.path}", data=body)
    for name in signed_headers:
        request.headers[name] = handler.headers[name]
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "bedrock", region)
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request)


def message(content, usage_in, usage_out, stop="end_turn"):
    return {
        "id": "msg_bdrk_01FakeBedrockScripted",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": usage_in, "output_tokens": usage_out},
    }


def json_text(answer):
    return [{"type": "text", "text": json.dumps(answer, separators=(",", ":"))}]


def structured_output_problem(request):
    """Why this is not the structured-output request the read stage must send, or None."""
    if "tools" in request or "tool_choice" in request:
        return "this reader must not use tools: extraneous key [tools/tool_choice] is not permitted"
    fmt = (request.get("output_config") or {}).get("format") or {}
    if fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
        return "#: required key [output_config.format] with type json_schema not found"
    if fmt["schema"].get("additionalProperties") is not False:
        return "output_config.format.schema: additionalProperties must be false for objects"
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, payload, error_type=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "00000000-fake-bedrock")
        if error_type:
            self.send_header("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/calls":
            with lock:
                self.reply(200, calls)
        elif self.path == "/counts":
            with lock:
                self.reply(200, {"by_marker": counts, "totals": totals})
        else:
            self.reply(404, {"message": "not found"})

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_POST(self):
        body = self.read_body()
        m = AUTH.fullmatch(self.headers.get("Authorization", ""))
        if not m:
            return self.reply(403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException")
        key, _date, region, service, signed, signature = m.groups()
        signed_headers = signed.split(";")
        if key != ACCESS_KEY or service != "bedrock":
            return self.reply(403, {"message": f"wrong key or service scope `{service}`"}, "UnrecognizedClientException")
        if signature != expected_signature(self, body, region, signed_headers, self.headers["X-Amz-Date"]):
            return self.reply(403, {"message": "The request signature we calculated does not match the signature you provided."}, "InvalidSignatureException")
        if not re.fullmatch(r"/model/[^/]+/invoke", self.path):
            return self.reply(404, {"message": f"unknown path {self.path}"}, "UnknownOperationException")

        request = json.loads(body)
        text = request["messages"][0]["content"]
        case = (re.search(r"case=([a-z-]+)", text) or [None, "valid"])[1]
        digest = hashlib.sha256(text.encode()).hexdigest()
        usage_in = (len(request["system"]) + len(text) + len(json.dumps(request.get("output_config", {})))) // 4
        marker = None
        if faults["marker"] is not None:
            found = faults["marker"].search(text)
            marker = found.group(0) if found else "(none)"
        with lock:
            seen[digest] = seen.get(digest, 0) + 1
            attempt = seen[digest]
            call = {"case": case, "attempt": attempt, "model": self.path.split("/")[2]}
            if marker is None:
                call["body"] = request
            calls.append(call)
            draw = faults["rng"].random()

        if request.get("anthropic_version") != "bedrock-2023-05-31":
            return self.reply(400, {"message": "anthropic_version must be bedrock-2023-05-31"}, "ValidationException")
        problem = structured_output_problem(request)
        if problem:
            return self.reply(400, {"message": f"Malformed input request: {problem}"}, "ValidationException")
        if draw < faults["throttle"]:
            with lock:
                count(marker, "throttled")
            return self.reply(429, {"message": "Too many requests, please wait before trying again."}, "ThrottlingException")
        if draw < faults["throttle"] + faults["fail"]:
            with lock:
                count(marker, "failed")
            return self.reply(500, {"message": "The server encountered an internal error."}, "InternalServerException")
        with lock:
            count(marker, "ok")
        if case == "bad-request":
            return self.reply(400, {"message": "Malformed input request: #: extraneous key [case] is not permitted"}, "ValidationException")
        if case == "throttle-once" and attempt == 1:
            return self.reply(429, {"message": "Too many requests, please wait before trying again."}, "ThrottlingException")
        if case == "unknown-topic":
            return self.reply(200, message(json_text({"topic": "shipping", "urgency": "low", "tone": "calm"}), usage_in, 17))
        if case == "non-json":
            return self.reply(200, message([{"type": "text", "text": "This looks like a billing question."}], usage_in, 9))
        return self.reply(200, message(json_text({"topic": "billing", "urgency": "medium", "tone": "calm"}), usage_in, 17))


def main():
    parser = argparse.ArgumentParser(description="A fake Bedrock runtime InvokeModel endpoint.")
    parser.add_argument("port_file")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--throttle", type=float, default=0.0)
    parser.add_argument("--fail", type=float, default=0.0)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--count-marker")
    args = parser.parse_args()
    faults.update(throttle=args.throttle, fail=args.fail, rng=random.Random(args.seed))
    if args.count_marker:
        faults["marker"] = re.compile(args.count_marker)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
