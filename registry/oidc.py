"""Single sign-on for agency staff over OpenID Connect (docs/security.md, "Single sign-on").

An agency's identity provider vouches for who a person is and what they may do here; the node
maps the claims onto its own accounts:

- the `agency` claim (OIDC_AGENCY_CLAIM) must be this node's agency (settings.NODE_AGENCY): a
  node maintains one agency's records, so a colleague of another agency is refused;
- the `roles` claim (OIDC_ROLES_CLAIM, a list or a space-separated string) holding
  OIDC_ADMIN_ROLE makes the account staff in the agency admins' group, as create_agency_admin
  does; without it the account is a signed-in reader (network-level records in the catalogue);
- accounts are keyed on the provider's subject (`sub`), never on the e-mail address, which
  a provider may let people change, and never collide with local accounts (prefix `sso-`);
- the claims are applied at every sign-in, so a role the provider withdraws is withdrawn here at
  the next one. Superuser is never granted by a provider.

mozilla-django-oidc runs the protocol (authorization code flow, state, nonce, ID token signature
against the provider's JWKS); this module is only the mapping, which no library knows.
"""

import hashlib
import re

from django.conf import settings
from django.contrib import messages
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from registry import services

USERNAME_PREFIX = "sso-"
SAFE_SUBJECT = re.compile(r"[\w.@+-]{1,140}")


def username_for(claims: dict) -> str:
    """`sso-<sub>`, or `sso-<sha256(sub)[:40]>` for a subject with characters or a length Django
    usernames do not take."""
    subject = str(claims.get("sub", ""))
    if SAFE_SUBJECT.fullmatch(subject):
        return USERNAME_PREFIX + subject
    return USERNAME_PREFIX + hashlib.sha256(subject.encode()).hexdigest()[:40]


def roles_of(claims: dict) -> set[str]:
    roles = claims.get(settings.OIDC_ROLES_CLAIM) or []
    if isinstance(roles, str):
        roles = roles.split()
    return {str(role) for role in roles}


def refusal(claims: dict) -> str:
    """Why these claims may not sign in here, or '' when they may."""
    if not claims.get("sub"):
        return "The identity provider sent no subject (sub) for this account."
    agency = claims.get(settings.OIDC_AGENCY_CLAIM)
    if agency != settings.NODE_AGENCY:
        shown = str(agency)[:40] if agency else "no agency"
        return (
            f"Your identity provider says your agency is {shown}; this registry is "
            f"{settings.NODE_AGENCY}'s. Sign in to your own agency's registry."
        )
    return ""


class AgencyOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with the agency's claim mapping (module docstring)."""

    def verify_claims(self, claims):
        reason = refusal(claims)
        if reason and getattr(self, "request", None) is not None:
            messages.error(self.request, reason)
        return not reason

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(username=username_for(claims))

    def create_user(self, claims):
        user = self.UserModel(username=username_for(claims))
        user.set_unusable_password()  # signs in through the provider only
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        user.email = str(claims.get("email", ""))[:254]
        user.first_name = str(claims.get("given_name", ""))[:150]
        user.last_name = str(claims.get("family_name", ""))[:150]
        user.agency_id = settings.NODE_AGENCY
        user.is_staff = settings.OIDC_ADMIN_ROLE in roles_of(claims)
        user.is_superuser = False
        user.save()
        group = services.agency_admins_group()
        if user.is_staff:
            user.groups.add(group)
        else:
            user.groups.remove(group)
        return user
