#!/usr/bin/python3
"""The token endpoint of a test registry in `auth: token:` mode (tests/support/registry.cc).

Usage: token_server.py --config FILE --policy FILE --log FILE

Serves GET /token?service=S&scope=repository:NAME:ACTIONS (scope may repeat)
on 127.0.0.1 at a port of its choosing, which it prints as "listening on
PORT" once it accepts connections. It answers as Docker's token servers do:

- Basic credentials, if sent, must match a user of the policy (else 401);
  without them the request is anonymous.
- Each requested repository scope is granted the requested actions that the
  policy allows the user ("anonymous_actions" for an anonymous request); a
  scope of another type ("registry:catalog:*") only to a user allowed "*".
  Nothing allowed is not an error: the token then grants no access, and the
  registry refuses it with insufficient_scope.
- The answer is {"token", "access_token", "expires_in", "issued_at"}, the
  token a JWT that docker-registry 2.8 accepts (registry/auth/token in
  distribution): ES256-signed, its header's x5c the signing certificate
  (which the registry's rootcertbundle holds), its claims iss = the issuer,
  aud = the service as a single string (2.8 compares one string), sub, exp,
  nbf, iat, jti and access.

The policy file is read on every request, so a test may rewrite it while the
server runs. Each request is appended to the log file as one JSON line
({"account", "scopes", "granted"} or {"account", "refused"}) for tests that
check what a client asked for.

Config: {"issuer", "service", "signing_key", "signing_cert", "expires_in",
"tls_cert", "tls_key"} (the last two only for HTTPS). Policy: {"users":
{NAME: {"password", "actions": [...]}}, "anonymous_actions": [...]}.
"""

import argparse
import base64
import binascii
import datetime
import http.server
import json
import secrets
import ssl
import sys
import threading
import time
import urllib.parse

import jwt  # Debian's python3-jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization


def parse_scope(scope):
    """'repository:a/b:pull,push' -> ('repository', 'a/b', ['pull', 'push']).

    The type ends at the first colon and the actions start at the last, so a
    name is taken whole should it hold a colon."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name:
        return None
    return kind, name, [a for a in actions.split(",") if a]


def granted_actions(kind, requested, allowed):
    if "*" in allowed:
        return requested
    if kind != "repository":
        return []
    return [action for action in requested if action in allowed]


class TokenHandler(http.server.BaseHTTPRequestHandler):
    server_version = "berth-test-token-server"

    def log_message(self, format, *args):  # the request log is the log file
        pass

    def send_json(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_request_outcome(self, entry):
        with self.server.log_lock, open(self.server.log_path, "a") as log:
            log.write(json.dumps(entry) + "\n")

    def account(self, policy):
        """The user the request authenticates as: None if anonymous, False
        if its credentials are wrong."""
        header = self.headers.get("Authorization")
        if not header:
            return None
        kind, _, encoded = header.partition(" ")
        if kind.lower() != "basic":
            return False
        try:
            name, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user = policy["users"].get(name)
        if user is None or not secrets.compare_digest(user["password"], password):
            return False
        return name

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self.send_json(404, {"details": "no such endpoint: " + url.path})
            return
        query = urllib.parse.parse_qs(url.query)
        config = self.server.config
        if query.get("service", [config["service"]]) != [config["service"]]:
            self.send_json(400, {"details": "unknown service: %s" % query["service"]})
            return
        with open(self.server.policy_path) as f:
            policy = json.load(f)
        name = self.account(policy)
        if name is False:
            self.log_request_outcome({"account": None, "refused": "wrong credentials"})
            self.send_json(401, {"details": "incorrect username or password"},
                           [("WWW-Authenticate", 'Basic realm="berth test token server"')])
            return
        allowed = policy["users"][name]["actions"] if name else policy.get("anonymous_actions", [])
        scopes = query.get("scope", [])
        access = []
        for scope in " ".join(scopes).split():  # one parameter may hold several, space-separated
            parsed = parse_scope(scope)
            if parsed is None:
                self.send_json(400, {"details": "malformed scope: " + scope})
                return
            kind, resource, requested = parsed
            actions = granted_actions(kind, requested, allowed)
            if actions:
                access.append({"type": kind, "name": resource, "actions": actions})
        self.log_request_outcome({"account": name, "scopes": scopes, "granted": access})
        token = self.server.sign(name or "", access)
        self.send_json(200, {"token": token, "access_token": token,
                             "expires_in": config["expires_in"],
                             "issued_at": datetime.datetime.now(datetime.timezone.utc).isoformat()})


class TokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config, policy_path, log_path):
        super().__init__(("127.0.0.1", 0), TokenHandler)
        self.config = config
        self.policy_path = policy_path
        self.log_path = log_path
        self.log_lock = threading.Lock()
        with open(config["signing_key"], "rb") as f:
            self.signing_key = serialization.load_pem_private_key(f.read(), password=None)
        with open(config["signing_cert"], "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        # x5c holds base64 DER (not base64url), leaf first.
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        if config.get("tls_cert"):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(config["tls_cert"], config["tls_key"])
            self.socket = context.wrap_socket(self.socket, server_side=True)

    def sign(self, subject, access):
        now = int(time.time())
        claims = {
            "iss": self.config["issuer"],
            "sub": subject,
            "aud": self.config["service"],
            "exp": now + self.config["expires_in"],
            "nbf": now,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        return jwt.encode(claims, self.signing_key, algorithm="ES256", headers={"x5c": self.x5c})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--policy", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    with open(args.config) as f:
        config = json.load(f)
    server = TokenServer(config, args.policy, args.log)
    print("listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
