"""A warm python worker: loads the handler once, then serves requests from the runner, one at a
time, as JSON lines on fd 3. Usage: python-worker.py FILE [FUNCTION]

Shapes: handle(event, context) (Lambda/Kubeless: event["data"]) and OpenFaaS's handle(req) -> str.
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


def main():
    path = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    chan = socket.socket(fileno=3).makefile("rwb")
    try:
        fn = load(path, name)
    except BaseException as e:  # the handler's import may raise anything
        send(chan, {"fatal": "Failed to load handler %s: %s" % (path, e)})
        return
    nargs = arity(fn)
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
            if nargs == 1:
                result = fn(body)
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
                result = fn(event, ctx)
            status, headers, out = normalize(result)
            send(chan, {"id": req["id"], "ok": True, "status": status, "headers": headers,
                        "body": base64.b64encode(out).decode()})
        except Exception:
            send(chan, {"id": req["id"], "ok": False, "error": traceback.format_exc()})
        sys.stdout.flush()


if __name__ == "__main__":
    main()
