"""The login lockout's authentication backend (django-axes, docs/security.md)."""

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every login that comes with a request (the admin's form,
    the API's Basic auth). A call of authenticate() without one comes from code on the node
    itself (a management command, the shell, a script): there is no client address to lock out,
    so it is left to the next backend instead of failing as axes' own backend does."""

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
