"""What every response carries and what slows a password guesser: security headers, cookie flags,
and the sign-in attempt limit (the `limits` library, Flask-Limiter's engine, counting failures only)."""
from __future__ import annotations

from flask import Flask, abort, current_app, request
from flask.sessions import SecureCookieSessionInterface
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

# Pages load scripts and styles from /static only; the watch page's timeline colours are data, so
# style attributes stay allowed, scripts never inline.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
    "media-src 'self' blob:", "connect-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS, not only when configured."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def add_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class SignInLimit:
    """Failed sign-ins per address in a moving window; over the limit, even a right password waits."""

    def __init__(self, limits: str, storage_uri: str):
        self.limits = parse_many(limits)
        self.window = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def check(self, address: str) -> None:
        if not all(self.window.test(limit, "sign-in", address) for limit in self.limits):
            abort(429, "too many failed sign-ins from this address: wait a few minutes and try again")

    def failed(self, address: str) -> None:
        for limit in self.limits:
            self.window.hit(limit, "sign-in", address)


def sign_in_limit() -> SignInLimit:
    return current_app.extensions["sign_in_limit"]


def init_app(app: Flask) -> None:
    settings = app.config["REELSCOPE"]
    app.session_interface = SessionCookies()
    # (Flask's defaults are already in app.config: setdefault would keep them)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_NAME="reelscope_session")
    app.extensions["sign_in_limit"] = SignInLimit(settings.signin_limit, settings.rate_limit_storage)
    app.after_request(add_security_headers)
