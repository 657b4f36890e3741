"""A webhook receiver for the end-to-end tests, run as its own process on 127.0.0.1: it verifies
each request's Standard Webhooks signature, answers 500 to the first --fail-first requests and
204 after, and acts once per webhook-id (an "effect"), as a receiver should. One JSON line per
request goes to --log."""

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server = self.server
        with server.lock:
            try:
                event = Webhook(server.secret).verify(body, dict(self.headers))
            except Exception:
                event = None
            server.requests += 1
            webhook_id = self.headers.get("webhook-id", "")
            if event is None:
                status = 400
            elif server.requests <= server.fail_first:
                status = 500
            else:
                status = 204
            effect = status == 204 and webhook_id not in server.handled
            if effect:
                server.handled.add(webhook_id)
            line = {
                "id": webhook_id,
                "valid": event is not None,
                "status": status,
                "effect": effect,
                "type": event and event["type"],
                "uid": event and event["data"]["uid"],
            }
            with open(server.log, "a") as log:
                log.write(json.dumps(line) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    options = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", options.port), Receiver)
    server.secret, server.log, server.fail_first = options.secret, options.log, options.fail_first
    server.lock, server.requests, server.handled = threading.Lock(), 0, set()
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
