"""A warm python worker: loads the handler once, then serves requests from the runner, one at a
time, as JSON lines on fd 3. Usage: python-worker.py FILE [FUNCTION [CONVENTION]]

Shapes: handle(event, context) (Lambda/Kubeless: event["data"]) and OpenFaaS's handle(req) -> str.
CONVENTION (the function's convention=): faass (the above, told apart by arity), openfaas-classic
(handle(req) with the body text: python3, python3-flask) or openfaas-http (python3-http:
handle(event, context) with event.body bytes, event.headers, .method, .query, .path, and a dict
{"statusCode", "body", "headers"} back, a dict body as JSON).
"""
import base64
import importlib.util
import inspect
import json
import os
import socket
import sys
import time
import traceback
from urllib.parse import parse_qs


def send(chan, msg):
    chan.write((json.dumps(msg) + "\n").encode())
    chan.flush()


def load(path, name):
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location("handler", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for candidate in ([name] if name else ["handle", "handler", "main"]):
        fn = getattr(mod, candidate, None)
        if callable(fn):
            return fn
    raise RuntimeError("the module defines no function named %s" % (name or "handle"))


def arity(fn):
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
        return len(params)
    except (TypeError, ValueError):
        return 2


def normalize(result):
    if result is None:
        return 200, {}, b""
    if isinstance(result, str):
        return 200, {}, result.encode()
    if isinstance(result, (bytes, bytearray)):
        return 200, {}, bytes(result)
    if isinstance(result, dict) and "statusCode" in result:
        # Which statuses pass is the runner's rule (core/function-answer.ts), the same for every runtime.
        status = int(result["statusCode"])
        headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        _, inner_headers, body = normalize(result.get("body"))
        if result.get("isBase64Encoded") and isinstance(result.get("body"), str):
            body = base64.b64decode(result["body"])
        inner_headers.update(headers)
        return status, inner_headers, body
    return 200, {"content-type": "application/json"}, json.dumps(result).encode()


class OpenfaasEvent:
    def __init__(self, ev, raw):
        self.body = raw
        self.headers = ev["headers"]
        self.method = ev["method"]
        self.query = {k: v[0] for k, v in parse_qs(ev.get("query") or "").items()}
        self.path = ev["path"]


class OpenfaasContext:
    def __init__(self):
        self.hostname = socket.gethostname()


def openfaas_http_answer(res):
    """The python3-http template's format_response: status, body (a dict as JSON), headers."""
    if res is None:
        return 200, {}, b""
    if not isinstance(res, dict):
        return normalize(str(res))
    headers = {str(k).lower(): str(v) for k, v in (res.get("headers") or {}).items()}
    body = res.get("body", "")
    if isinstance(body, (dict, list)):
        headers.setdefault("content-type", "application/json")
        out = json.dumps(body).encode()
    elif isinstance(body, (bytes, bytearray)):
        out = bytes(body)
    else:
        out = ("" if body is None else str(body)).encode()
    return int(res.get("statusCode", 200)), headers, out


def main():
    path = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    convention = sys.argv[3] if len(sys.argv) > 3 else "faass"
    chan = socket.socket(fileno=3).makefile("rwb")
    try:
        fn = load(path, name)
    except BaseException as e:  # the handler's import may raise anything
        send(chan, {"fatal": "Failed to load handler %s: %s" % (path, e)})
        return
    nargs = {"openfaas-classic": 1, "openfaas-http": 2}.get(convention) or arity(fn)
    send(chan, {"ready": True})
    for line in chan:
        req = json.loads(line)
        # What the handler prints from now on is this call's (CALL_MARK of line-logger.ts).
        for stream in (sys.stdout, sys.stderr):
            stream.write("\0faass-call %s\n" % req["context"]["callId"])
            stream.flush()
        ev = req["event"]
        raw = base64.b64decode(ev["body"])
        body = raw.decode("utf-8", "replace")
        started = time.time()
        # The call's outbox (a file drop's function): in the context, and in the environment too,
        # as OpenFaaS's handle(req) has no context (this process serves one call at a time).
        if req["context"].get("outbox"):
            os.environ["FAASS_OUTBOX"] = req["context"]["outbox"]
        else:
            os.environ.pop("FAASS_OUTBOX", None)
        try:
            if convention == "openfaas-http":
                status, headers, out = openfaas_http_answer(fn(OpenfaasEvent(ev, raw), OpenfaasContext()))
            elif nargs == 1:
                status, headers, out = normalize(fn(body))
            else:
                data = body
                if "json" in ev["headers"].get("content-type", ""):
                    try:
                        data = json.loads(body)
                    except ValueError:
                        pass
                event = dict(ev, body=body, data=data, rawBody=raw)
                ctx = dict(req["context"])
                ctx["function-name"] = ctx["functionName"]
                ctx["remaining"] = lambda: max(0, ctx["timeout"] - (time.time() - started))
                status, headers, out = normalize(fn(event, ctx))
            send(chan, {"id": req["id"], "ok": True, "status": status, "headers": headers,
                        "body": base64.b64encode(out).decode()})
        except Exception:
            send(chan, {"id": req["id"], "ok": False, "error": traceback.format_exc()})
        sys.stdout.flush()


if __name__ == "__main__":
    main()
