#!/usr/bin/env python3
"""moto's STS server (the same app `moto_server` runs) plus a counting shim.

Usage: sts_server.py HOST PORT

Every request that reaches moto is recorded (STS Action, whether it carried an
MFA TokenCode, which tool sent it: the `app/NAME` part of the User-Agent that
AWS_SDK_UA_APP_ID adds, or "aws-sdk-rust" for an SDK that ignores that
variable) before moto handles it, so the benchmark can count
GetSessionToken / AssumeRole calls and MFA codes actually sent, per tool.
Two extra paths answer locally and never reach moto:
  GET  /__bench/events  -> JSON list of recorded requests
  POST /__bench/reset   -> clears the list
"""

import io
import json
import re
import sys
import threading
import time
import urllib.parse

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

_lock = threading.Lock()
_events = []


class Counting:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/__bench/"):
            return self._control(path, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        params = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        params.update(urllib.parse.parse_qs(environ.get("QUERY_STRING", "")))
        action = (params.get("Action") or ["?"])[0]
        ua = environ.get("HTTP_USER_AGENT", "")
        m = re.search(r"\bapp/(\S+)", ua)
        app = m.group(1) if m else ("aws-sdk-rust" if "aws-sdk-rust" in ua else "other")
        with _lock:
            _events.append(
                {
                    "action": action,
                    "app": app,  # AWS_SDK_UA_APP_ID, which the harness sets per tool
                    "token_code": bool(params.get("TokenCode")),
                    "role_arn": (params.get("RoleArn") or [None])[0],
                    "t": time.time(),  # the (possibly faked) server clock
                }
            )
        return self.app(environ, start_response)

    @staticmethod
    def _control(path, start_response):
        with _lock:
            if path == "/__bench/reset":
                _events.clear()
                out = b"{}"
            else:
                out = json.dumps(_events).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
        return [out]


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, Counting(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
