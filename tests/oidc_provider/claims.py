"""The claims an agency's identity provider sends about a user (docs/security.md, Single
sign-on): standard OIDC claims plus `agency` and `roles`, kept on the test user's first and last
name fields so the test can set them without a model of its own."""

from oauth2_provider.oauth2_validators import OAuth2Validator


class AgencyClaimsValidator(OAuth2Validator):
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "agency": "profile",
        "roles": "profile",
        "preferred_username": "profile",
    }

    def get_additional_claims(self, request):
        user = request.user
        return {
            "email": user.email,
            "email_verified": True,
            "preferred_username": user.username,
            "given_name": user.username.title(),
            "agency": user.first_name,
            "roles": user.last_name.split(),
        }
