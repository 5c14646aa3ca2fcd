"""Security headers Django's own middleware does not set: a Content-Security-Policy that allows
no inline script, and a Permissions-Policy. (HSTS, nosniff, Referrer-Policy and frame denial come
from SecurityMiddleware and XFrameOptionsMiddleware, configured in settings.)"""


def content_security_policy(request):
    """Scripts, styles and sockets from this origin only; images may also be data:/blob: URLs
    (previews of the visitor's own upload, heat maps sent inline)."""
    host = request.get_host()
    styles = "'self'"
    if request.path.startswith("/admin/"):
        # Django's admin sets a few style attributes; its scripts are still external files.
        styles = "'self' 'unsafe-inline'"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {styles}",
            "img-src 'self' data: blob:",
            f"connect-src 'self' ws://{host} wss://{host}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", content_security_policy(request))
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response
