"""Template context every page may need."""

from django.conf import settings


def single_sign_on(request) -> dict:
    """Whether the admin's sign-in page offers the agency's identity provider (registry.oidc)."""
    return {
        "single_sign_on": settings.OIDC_ENABLED,
        "single_sign_on_name": settings.OIDC_PROVIDER_NAME,
    }
